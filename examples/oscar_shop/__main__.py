"""Run the Oscar shop: ``python -m examples.oscar_shop [--port 8000] [--data DIR]``."""

from __future__ import annotations

import argparse
import os

from ..serving import listen, run


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the django-oscar shop with consent.")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (8000)")
    parser.add_argument(
        "--data",
        help="where the database, search index and ledger are kept "
        "(default: $OSCAR_SHOP_DATA, else .oscar-shop)",
    )
    args = parser.parse_args()
    if args.data:
        os.environ["OSCAR_SHOP_DATA"] = args.data
    os.environ["DJANGO_SETTINGS_MODULE"] = "examples.oscar_shop.settings"
    # The port first: a busy one is reported before the slower preparation.
    sock = listen(args.port)

    import django

    django.setup()
    from django.core.asgi import get_asgi_application

    from .prepare import prepare

    count = prepare()
    app = get_asgi_application()
    print(
        f"Oscar shop ({count} products) on http://127.0.0.1:{args.port}/  (Ctrl+C to stop)",
        flush=True,
    )
    run(app, sock)


if __name__ == "__main__":
    main()
