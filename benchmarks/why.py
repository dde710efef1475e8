"""Cost of one "Why am I seeing this?" disclosure, as a template renders it.

    python benchmarks/why.py [--items N] [--rounds R]

A page lists N items; the same page is rendered with and without ``{{ why(item) }}`` for
each, in one run, and the difference divided by N is the cost of one disclosure. Personal
reasons (each with its own sentence) and general ones are measured separately. The fastest
round counts, which keeps other load on the machine out of the figure.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jinja2

from consent_middleware import ConsentPolicy, PersonalisationContext
from consent_middleware.core.codec import ConsentState
from consent_middleware.jinja import install
from consent_middleware.web.engine import ConsentEngine

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")
WITH_WHY = "{% for item in items %}<li>{{ item.name }}{{ why(item) }}</li>{% endfor %}"
WITHOUT_WHY = "{% for item in items %}<li>{{ item.name }}</li>{% endfor %}"
#: What one disclosure may cost, in seconds.
TARGET = 10e-6


def context() -> PersonalisationContext:
    engine = ConsentEngine(policy=POLICY, secret_keys=["benchmark-key-" * 4])
    state = ConsentState("b" * 22, POLICY.grant(["personalisation"]), int(time.time()))
    return PersonalisationContext(POLICY, state, False, engine, "", "/consent", "/products/tea")


def best_time(template: jinja2.Template, rounds: int, **values: object) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        template.render(**values)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    env = install(jinja2.Environment(autoescape=True))
    with_why, without_why = env.from_string(WITH_WHY), env.from_string(WITHOUT_WHY)
    ctx = context()
    personal = [
        {"name": f"Tea {i}", "reason": ctx.reason("viewed_products", text=f"You viewed Tea {i}")}
        for i in range(args.items)
    ]
    general = [{"name": f"Tea {i}", "reason": ctx.general_reason()} for i in range(args.items)]

    print(f"{args.items} items a page, fastest of {args.rounds} renders")
    for label, items in (("personal reasons", personal), ("general reasons", general)):
        base = best_time(without_why, args.rounds, items=items, consent=ctx)
        full = best_time(with_why, args.rounds, items=items, consent=ctx)
        per_item = (full - base) / args.items
        print(f"  {label:<17} page {full * 1e3:7.2f} ms, without why() {base * 1e3:6.2f} ms")
        print(
            f"  why() per item, {label}: {per_item * 1e6:.2f} us "
            f"(target: under {TARGET * 1e6:.0f} us; {per_item / TARGET:.2f}x the target)"
        )


if __name__ == "__main__":
    main()
