#!/usr/bin/env python3
"""Translates a SAM template into the CloudFormation template that deploys.

    scripts/sam-translate.py template.yaml > translated.json

It runs the AWS SAM translator (the Python package samtranslator, what
`sam deploy` and CloudFormation's AWS::Serverless transform use) offline.
Local CodeUri paths become S3 locations first, as `sam package` makes them;
nothing is uploaded and no AWS account is asked. Errors of the transform are
printed one a line and end with exit status 1; without samtranslator the
exit status is 3.
"""
import json
import os
import sys

try:
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:  # pragma: no cover
    print(f"the AWS SAM translator is not installed (pip install aws-sam-translator): {e}", file=sys.stderr)
    sys.exit(3)


class NoManagedPolicies:
    """The template names no managed policies, so none are looked up."""

    def load(self):
        return {}


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
                and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = f"s3://credres-artifacts/{logical_id}.zip"
    # The transform asks for a region to build ARNs; any will do offline.
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    try:
        out = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(cause.message, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
