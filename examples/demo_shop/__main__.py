"""Run the demo shop: ``python -m examples.demo_shop [--port 8000]``."""

from __future__ import annotations

import argparse

from ..serving import listen, run
from .app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the consent_middleware demo shop.")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (8000)")
    parser.add_argument(
        "--ledger", help="where choices are recorded (default: sqlite:///.demo-shop/consent.db)"
    )
    parser.add_argument(
        "--segments-only",
        action="store_true",
        help="personal shelves use broad interests only, never the products viewed",
    )
    parser.add_argument(
        "--region-header",
        help="the header your CDN sets to the visitor's country, e.g. CF-IPCountry: regional "
        "rules (default: $CONSENT_REGION_HEADER, else none: opt-in everywhere)",
    )
    parser.add_argument(
        "--region-subdivision-header",
        help="the header with the visitor's state, e.g. CF-Region-Code (CA makes US-CA)",
    )
    parser.add_argument(
        "--without-consent",
        action="store_true",
        help="serve the same pages with a fixed non-personalised context (load baseline)",
    )
    args = parser.parse_args()
    sock = listen(args.port)
    app = create_app(
        consent=not args.without_consent,
        ledger=args.ledger,
        segments=True if args.segments_only else None,
        region_header=args.region_header,
        region_subdivision_header=args.region_subdivision_header,
    )
    print(f"Demo shop on http://127.0.0.1:{args.port}/  (Ctrl+C to stop)", flush=True)
    run(app, sock)


if __name__ == "__main__":
    main()
