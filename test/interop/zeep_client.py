#!/usr/bin/python3
r"""A standard SOAP client against Okno: Python's zeep loads the gateway's WSDL,
builds a SendRequest from it, python-xmlsec signs SenderProvidedRequestData
(XMLDSig: exc-c14n, RSA-SHA256, SHA-256, X509Data), and the envelope is POSTed
to the address the WSDL gives (or written to a file with --dry-run).

Run with the Debian python, which has the libraries:
    apt-get install -y python3-zeep python3-xmlsec
    /usr/bin/python3 test/interop/zeep_client.py --wsdl http://127.0.0.1:8080/ws/smev3?wsdl \
        --key certs-sample/portal.key.pem --cert certs-sample/portal.crt.pem --content app.xml

--version 1.1|1.2|1.3 picks the message-exchange version: it adds v=<version> to the WSDL URL when
the URL carries none, and must match the namespace of the WSDL loaded (default: whatever it is).

Prints one JSON line: {"status", "body", "operation", "element", "soapAction", "address",
"version", "messageId", "dryRun"}.
"""
import argparse
import json
import sys
import urllib.parse
import uuid

try:
    import requests
    import xmlsec
    import zeep
    from lxml import etree
except ImportError as error:  # pragma: no cover - a setup problem, said plainly
    sys.stderr.write(
        "zeep_client.py needs python3-zeep and python3-xmlsec (apt-get install -y python3-zeep python3-xmlsec) "
        "and must run with /usr/bin/python3: %s\n" % error
    )
    sys.exit(3)

SERVICE_NS = "urn://x-artefacts-smev-gov-ru/services/message-exchange/%s"
TYPES_NS = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/%s"
BASIC_NS = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/%s"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SIGNED_ID = "SIGNED_BY_CONSUMER"
VERSIONS = ("1.1", "1.2", "1.3")


def wsdl_url_for(url, version):
    if version is None:
        return url
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "v" for k, _ in query):
        return url
    # Keep a bare "wsdl" key bare (…?wsdl&v=1.2), as servers expect it.
    extra = urllib.parse.urlencode([("v", version)])
    new_query = parts.query + ("&" if parts.query else "") + extra
    return urllib.parse.urlunsplit(parts._replace(query=new_query))


def wsdl_version(client):
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            ns = port.binding.port_name.namespace if port.binding.port_name is not None else ""
            for v in VERSIONS:
                if ns == SERVICE_NS % v:
                    return v
    for v in VERSIONS:
        if (TYPES_NS % v) in client.wsdl.types.namespaces:
            return v
    raise SystemExit("the WSDL declares no SMEV message-exchange namespace 1.1/1.2/1.3")


def signature_template(envelope):
    """The ds:Signature template over #SIGNED_BY_CONSUMER: exc-c14n, RSA-SHA256, one Reference
    (exc-c14n transform, SHA-256), KeyInfo/X509Data that xmlsec fills with the certificate."""
    sig = xmlsec.template.create(
        envelope, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256, ns="ds"
    )
    ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="#" + SIGNED_ID)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(sig)
    x509 = xmlsec.template.add_x509_data(key_info)
    xmlsec.template.x509_data_add_certificate(x509)
    return sig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wsdl", required=True, help="the gateway's WSDL URL, e.g. http://127.0.0.1:8080/ws/smev3?wsdl")
    parser.add_argument("--key", required=True, help="PEM private key of the sender")
    parser.add_argument("--cert", required=True, help="PEM certificate of the sender")
    parser.add_argument("--content", required=True, help="XML file: the business element for MessagePrimaryContent")
    parser.add_argument("--version", choices=VERSIONS, default=None)
    parser.add_argument("--message-id", default=None, help="MessageID (default: a fresh uuid1)")
    parser.add_argument("--test-message", action="store_true", help="add TestMessage")
    parser.add_argument("--dry-run", metavar="OUT", default=None, help="write the signed envelope to OUT instead of POSTing it")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)

    url = wsdl_url_for(args.wsdl, args.version)
    client = zeep.Client(url)
    version = wsdl_version(client)
    if args.version is not None and version != args.version:
        raise SystemExit("the WSDL at %s is message exchange %s, not %s" % (url, version, args.version))
    types_ns = TYPES_NS % version

    # The operation as zeep resolved it from the WSDL's binding.
    service = client.service
    binding = service._binding
    operation = binding.get("SendRequest")
    body_element = operation.input.body
    element_qname = str(body_element.qname) if body_element is not None else None
    address = service._binding_options["address"]

    # Build the request from the schema: zeep's factories for the types namespace.
    content = etree.parse(args.content, etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    SenderProvidedRequestData = client.get_element("{%s}SenderProvidedRequestData" % types_ns)
    MessagePrimaryContent = client.get_element("{%s}MessagePrimaryContent" % (BASIC_NS % version))
    message_id = args.message_id or str(uuid.uuid1())
    fields = {
        "MessageID": message_id,
        "MessagePrimaryContent": MessagePrimaryContent(_value_1=content),
        "Id": SIGNED_ID,
    }
    if args.test_message:
        fields["TestMessage"] = {}
    request_data = SenderProvidedRequestData(**fields)
    # CallerInformationSystemSignature is basic:XMLDSigSignatureType (xs:any in the ds namespace):
    # a placeholder ds:Signature goes in now, xmlsec's template replaces it below.
    placeholder = etree.Element("{%s}Signature" % DS_NS, nsmap={"ds": DS_NS})
    envelope = client.create_message(
        service,
        "SendRequest",
        SenderProvidedRequestData=request_data,
        CallerInformationSystemSignature={"_value_1": placeholder},
    )

    ns = {"t": types_ns, "ds": DS_NS, "s": "http://schemas.xmlsoap.org/soap/envelope/"}
    signed = envelope.xpath("/s:Envelope/s:Body/t:SendRequestRequest/t:SenderProvidedRequestData", namespaces=ns)
    holder = envelope.xpath("/s:Envelope/s:Body/t:SendRequestRequest/t:CallerInformationSystemSignature", namespaces=ns)
    if len(signed) != 1 or len(holder) != 1:
        raise SystemExit("zeep did not build SendRequestRequest/SenderProvidedRequestData + CallerInformationSystemSignature")
    signed, holder = signed[0], holder[0]
    for child in list(holder):
        holder.remove(child)

    signature = signature_template(envelope)
    holder.append(signature)
    ctx = xmlsec.SignatureContext()
    key = xmlsec.Key.from_file(args.key, xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_file(args.cert, xmlsec.constants.KeyDataFormatPem)
    ctx.key = key
    ctx.register_id(signed, "Id")
    ctx.sign(signature)

    payload = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    result = {
        "status": None,
        "body": None,
        "operation": operation.name,
        "element": element_qname,
        "soapAction": operation.soapaction,
        "address": address,
        "version": version,
        "messageId": message_id,
        "dryRun": args.dry_run,
    }
    if args.dry_run:
        with open(args.dry_run, "wb") as out:
            out.write(payload)
    else:
        # As zeep's own transport does (SOAP 1.1: the SOAPAction value is a quoted URI).
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s"' % operation.soapaction}
        reply = requests.post(address, data=payload, headers=headers, timeout=args.timeout)
        result["status"] = reply.status_code
        result["body"] = reply.content.decode("utf-8", errors="replace")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
