"""Prints every message in a Maildir's new/ folder (oldest first) as JSON: from, to, subject
and the plain-text body, decoded by Python's own e-mail package (headers, transfer encodings),
not by Stepwise's. Used by the e-mail tests (crates/stepwise-testkit/src/smtp.rs and
tests/browser/harness.mjs) with the Python of `scripts/python-venv smtp`.

    python decode.py MAILDIR/new
"""

import email
import json
import os
import sys
from email import policy


def main(folder):
    names = sorted(os.listdir(folder), key=lambda n: os.stat(os.path.join(folder, n)).st_mtime_ns)
    out = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=policy.default)
        out.append(
            {
                "from": str(message["From"]),
                "to": str(message["To"]),
                "subject": str(message["Subject"]),
                "body": message.get_body(preferencelist=("plain",)).get_content(),
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
