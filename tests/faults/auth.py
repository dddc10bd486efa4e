"""The suite's own token issuer: every service trusts its key set (DCERT_AUTH_JWKS_URL).

Tokens are the development tokens of `dcert_shared.auth.DevIssuer`, the same a certificate
service hands out at POST /v1/dev/tokens, but signed here: an issuer inside one certificate
process would take everyone's sign-in down with it when the suite kills that process or rolls
it out, and would sign with a new key after every restart.
"""

from __future__ import annotations

import http.server
import json
import threading

from dcert_shared.auth import DevIssuer


class TokenIssuer:
    def __init__(self) -> None:
        self.issuer = DevIssuer()
        body = json.dumps(self.issuer.jwks()).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def issue(self, role: str, subject: str, claims: dict[str, str]) -> str:
        return self.issuer.issue(role, subject, claims)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
