"""How fast certificates render: one wkhtmltopdf at a time, then one per core.

    .venv/bin/python benchmarks/render_certificates.py [N] [--processes P]

Renders N sample qualification certificates (face and transcript) sequentially and
with ``render_many`` and prints certificates per second for both.  Needs no
database: the HTML is made in a bare application context.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from certify import create_app
from certify.certificates import rendering
from certify.certificates.numbering import format_number, verification_code


def sample(n: int) -> dict:
    code = verification_code()
    units = [{"unit_id": i, "code": f"ITCSCR4{i:02d}A", "title": title, "version": 1,
              "level": 4, "credits": 3, "framework": "HKQF",
              "framework_name": "Hong Kong Qualifications Framework",
              "case_item": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
              "achieved_on": "2026-11-20"}
             for i, title in enumerate(["Perform security risk assessment",
                                        "Implement network access controls",
                                        "Respond to information security incidents",
                                        "Manage vulnerability scanning"], start=1)]
    return {
        "number": format_number("BENCH", 2026, n), "verification_code": code,
        "verification_url": f"http://127.0.0.1:5000/verify/{code}",
        "kind": "qualification", "kind_label": "Qualification certificate",
        "candidate": {"name": f"陳大文 {n}"},
        "provider": {"name": "North College", "slug": "north-college", "prefix": "BENCH",
                     "logo_key": None},
        "qualification": {"code": "DIP-CSO", "title": "Diploma in Cyber Security Operations",
                          "level": 4, "framework": "HKQF",
                          "framework_name": "Hong Kong Qualifications Framework",
                          "validity_months": None},
        "units": units, "total_credits": sum(u["credits"] for u in units),
        "achieved_on": "2026-11-20", "issued_on": "2026-11-24",
        "issued_at": "2026-11-24T19:00:00Z", "expires_on": None,
        "signatory": {"name": "Zażółć Gęślą Jaźń", "title": "Registrar"}, "replaces": None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=24,
                        help="certificates to render each way (default 24)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="wkhtmltopdf processes at once (default: one per core)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"ENV": "testing", "DATABASE_URL": "sqlite://",
                          "INSTANCE_PATH": instance})
        with app.app_context():
            documents = [(rendering.certificate_html(sample(n)), format_number("BENCH", 2026, n))
                         for n in range(1, args.count + 1)]

    started = time.perf_counter()
    for html, title in documents:
        rendering.render_certificate(html, title=title)
    sequential = time.perf_counter() - started

    started = time.perf_counter()
    results = rendering.render_many(documents, args.processes)
    parallel = time.perf_counter() - started
    failed = [r for r in results if isinstance(r, Exception)]

    print(f"{args.count} certificates, {os.cpu_count()} cores")
    print(f"sequential:                  {args.count / sequential:7.2f} certificates/s "
          f"({sequential:.1f} s)")
    print(f"render_many({args.processes:>2} processes):   {args.count / parallel:7.2f} "
          f"certificates/s ({parallel:.1f} s)")
    if failed:
        print(f"{len(failed)} failed, first: {failed[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
