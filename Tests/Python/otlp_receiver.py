"""A test OTLP/HTTP trace receiver: takes POSTs (the exporter posts to /v1/traces) on 127.0.0.1:PORT, decodes each body
(application/x-protobuf) as an ExportTraceServiceRequest with the opentelemetry-proto package, and
appends one JSON line per span to OUT: {"traceId", "spanId", "parentSpanId", "name", "service"}.
Usage: otlp_receiver.py PORT OUT. It stops when its standard input closes (the test ends)."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        lines = []
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "traceId": span.trace_id.hex(), "spanId": span.span_id.hex(),
                        "parentSpanId": span.parent_span_id.hex(), "name": span.name, "service": service,
                    }))
        with lock, open(out, "a") as file:
            for line in lines:
                file.write(line + "\n")
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
open(out + ".ready", "w").close()
sys.stdin.read()
server.shutdown()
