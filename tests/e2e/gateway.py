#!/usr/bin/env python3
"""A stand-in delivery gateway for test_campaign.sh: accepts POSTed JSON
records, answers 503 to requests 3, 4 and 10 (the sender must retry, twice
in a row for one record) and 400
to records of user u000030 (refused for good), and appends every accepted
record to the file named by the first argument. Prints its port, then
serves until killed."""
import http.server, json, sys, threading

out = open(sys.argv[1], "a")
lock = threading.Lock()
count = [0]

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            count[0] += 1
            n = count[0]
        rec = json.loads(body)
        if n in (3, 4, 10):
            self.send_response(503)
        elif rec.get("user") == "u000030":
            self.send_response(400)
        else:
            assert self.headers.get("Idempotency-Key") == rec["id"]
            with lock:
                out.write(json.dumps(rec) + "\n")
                out.flush()
            self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
