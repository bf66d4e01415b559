#!/usr/bin/python3
r"""An X-Road client made by zeep from Okno's per-service WSDL
(GET /ws/xroad/{serviceCode}?wsdl): the X-Road headers are built from the
WSDL's own header parts (xrd:client, xrd:service, xrd:id, xrd:userId,
xrd:protocolVersion), the business element is read from a file and parsed
with the WSDL's schema, and the operation is called at the address the WSDL
gives. zeep parses the answer with the same WSDL.

    /usr/bin/python3 test/interop/zeep_xroad_client.py --wsdl URL --code CODE \
        --client INSTANCE/CLASS/CODE/SUBSYSTEM --service INSTANCE/CLASS/CODE/SUBSYSTEM/CODE/VERSION \
        --id ID [--user-id UA123] --content content.xml

Prints one JSON line: {"ok", "response" (zeep's parsed object), "raw" (the
response envelope), "fault": {"code", "message"} or null}.
"""
import argparse
import json
import sys

try:
    import zeep
    from zeep.helpers import serialize_object
    from zeep.plugins import HistoryPlugin
    from lxml import etree
except ImportError as error:  # pragma: no cover - a setup problem, said plainly
    sys.stderr.write("zeep_xroad_client.py needs python3-zeep (apt-get install -y python3-zeep) and /usr/bin/python3: %s\n" % error)
    sys.exit(3)

XRD = "http://x-road.eu/xsd/xroad.xsd"


def identifier(element, text, object_type, names):
    parts = text.split("/")
    values = dict(zip(names, parts))
    return element(objectType=object_type, **values)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wsdl", required=True)
    p.add_argument("--code", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--user-id", default=None)
    p.add_argument("--content", required=True)
    a = p.parse_args()

    history = HistoryPlugin()
    client = zeep.Client(a.wsdl, plugins=[history])
    client_parts = a.client.split("/")
    # By the header parts the WSDL's binding declares (soap:header … part="client" …).
    headers = {
        "client": identifier(client.get_element("{%s}client" % XRD), a.client, "SUBSYSTEM" if len(client_parts) == 4 else "MEMBER",
                             ["xRoadInstance", "memberClass", "memberCode", "subsystemCode"]),
        "service": identifier(client.get_element("{%s}service" % XRD), a.service, "SERVICE",
                              ["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"]),
        "id": a.id,
        "protocolVersion": "4.0",
    }
    if a.user_id:
        headers["userId"] = a.user_id

    # The business element, parsed with the WSDL's schema into zeep's objects.
    with open(a.content, "rb") as f:
        node = etree.fromstring(f.read())
    operation = client.service._binding._operations[a.code]
    body = operation.input.body
    wrapper = body.type if hasattr(body, "type") else None
    own = etree.QName(node).localname == a.code
    if own:
        # The content is the operation element itself: its children are the parameters.
        value = client.get_element(etree.QName(node).text).parse(node, client.wsdl.types)
        kwargs = {k: value[k] for k in value}
    else:
        element = client.get_element(etree.QName(node).text)
        value = element.parse(node, client.wsdl.types)
        kwargs = {etree.QName(node).localname: value}
    out = {"ok": False, "response": None, "raw": None, "fault": None, "wrapper": str(wrapper) if wrapper is not None else None}
    try:
        result = getattr(client.service, a.code)(_soapheaders=headers, **kwargs)
        out["ok"] = True
        out["response"] = serialize_object(result)
    except zeep.exceptions.Fault as fault:
        out["fault"] = {"code": fault.code, "message": fault.message}
    if history.last_received is not None:
        out["raw"] = etree.tostring(history.last_received["envelope"], encoding="unicode")
    if history.last_sent is not None:
        out["sent"] = etree.tostring(history.last_sent["envelope"], encoding="unicode")
    print(json.dumps(out, default=str, ensure_ascii=False))


if __name__ == "__main__":
    main()
