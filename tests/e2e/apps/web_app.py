"""A web app as a user starts one in a session: Python's http.server for files, plus /echo
(what the request looked like when it arrived) and /ws (a WebSocket echo), stdlib only.
Usage: python3 web_app.py PORT DIRECTORY"""
import base64
import hashlib
import http.server
import json
import socketserver
import struct
import sys

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/echo") or "/echo?" in self.path:
            body = json.dumps({"path": self.path, "prefix": self.headers.get("X-Forwarded-Prefix"),
                               "cookie": self.headers.get("Cookie"),
                               "authorization": self.headers.get("Authorization")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.endswith("/ws") and self.headers.get("Upgrade", "").lower() == "websocket":
            self.echo_websocket()
        else:
            super().do_GET()

    def echo_websocket(self):
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WEBSOCKET_GUID).encode())
                                  .digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:  # close
                return
            reply = b"echo: " + payload
            header = bytes([0x80 | opcode])
            header += bytes([len(reply)]) if len(reply) < 126 else bytes([126]) + struct.pack(">H", len(reply))
            self.wfile.write(header + reply)
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    port, directory = int(sys.argv[1]), sys.argv[2]
    handler = lambda *args, **kwargs: Handler(*args, directory=directory, **kwargs)  # noqa: E731
    Server(("0.0.0.0", port), handler).serve_forever()
