#!/usr/bin/env python3
"""Validates the operation element of SOAP envelopes against the official SMEV 3
message-exchange types XSD, with libxml2 (lxml) — an independent validator.

A soap:Fault is checked by its detail element against the faults XSD.

stdin: JSON [{"name": ..., "xml": ...}]; argv[1]: the types XSD file, argv[2]: the faults XSD file.
stdout: JSON {name: null (valid) | [error, ...]}.
"""
import json
import sys

from lxml import etree

SOAP = '{http://schemas.xmlsoap.org/soap/envelope/}'


def main() -> None:
    types = etree.XMLSchema(etree.parse(sys.argv[1]))
    faults = etree.XMLSchema(etree.parse(sys.argv[2]))
    results = {}
    for item in json.load(sys.stdin):
        root = etree.fromstring(item['xml'].encode('utf-8'))
        body = root.find(SOAP + 'Body')
        operation = body[0] if body is not None and len(body) else None
        if operation is None:
            results[item['name']] = ['no operation element in soap:Body']
            continue
        schema = types
        if operation.tag == SOAP + 'Fault':
            detail = operation.find('detail')
            if detail is None or not len(detail):
                results[item['name']] = ['soap:Fault without a detail element']
                continue
            operation, schema = detail[0], faults
        doc = etree.ElementTree(etree.fromstring(etree.tostring(operation)))
        results[item['name']] = None if schema.validate(doc) else [str(e) for e in schema.error_log]
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == '__main__':
    main()
