"""An ordinary Flask app wrapped with the WSGI consent middleware.

flask --app examples.flask_minimal run
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, render_template_string, request

from consent_middleware import ConsentPolicy, ConsentWSGIMiddleware, get_context
from consent_middleware.jinja import install

app = Flask(__name__)
install(app.jinja_env)
app.wsgi_app = ConsentWSGIMiddleware(  # type: ignore[method-assign]
    app.wsgi_app,
    policy=ConsentPolicy.default(),
    secret_keys=[os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)],
    secure=False,  # plain HTTP in development; keep the default True in production
)

PAGE = """<!doctype html><html lang="en"><body>
{{ consent_banner() }}
<header>{{ privacy_choices_link() }}</header>
<main><p>Mode: {{ mode }}</p>
<p>Tea {{ why(reason) }}</p>
{% consent "analytics" %}<p>Your analytics tag would load here (you allowed it).</p>
{% endconsent %}</main>
</body></html>"""


@app.route("/")
def home() -> str:
    ctx = get_context(request)
    return render_template_string(PAGE, mode=ctx.mode.value, reason=ctx.general_reason())
