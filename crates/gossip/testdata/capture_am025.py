#!/usr/bin/env python3
"""Captures real memberlist bytes from Alertmanager 0.25 for the gossip crate's golden tests.

Starts one Alertmanager (gossip on 127.0.0.80:9094) with a silence, listing 127.0.0.81:9094 as
its peer, then, posing as that peer with plain sockets:
  - records the TCP push/pull (join) Alertmanager's reconnect loop dials us with:
    am025-pushpull-join.bin
  - sends a UDP ping with an empty node name (memberlist accepts it) and records the UDP
    answer, an ack with the pending silence broadcast piggybacked: am025-ack-packet.bin
Re-run to refresh: python3 crates/gossip/testdata/capture_am025.py
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
AM_HTTP, AM_GOSSIP, US = "127.0.0.80:9093", ("127.0.0.80", 9094), ("127.0.0.81", 9094)

def main():
    data = tempfile.mkdtemp()
    cfg = os.path.join(data, "am.yml")
    open(cfg, "w").write("route: {receiver: r}\nreceivers: [{name: r}]\n")
    tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(US); tcp.listen(4); tcp.settimeout(30)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(US); udp.settimeout(10)
    am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={cfg}", f"--storage.path={data}",
        f"--web.listen-address={AM_HTTP}", "--cluster.listen-address=127.0.0.80:9094",
        "--cluster.peer=127.0.0.81:9094", "--cluster.reconnect-interval=1s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The startup join comes first; answer nothing so the peer counts as failed.
        conn, _ = tcp.accept(); conn.settimeout(2); drain(conn); conn.close()
        wait_http()
        body = json.dumps({"matchers": [{"name": "job", "value": "golden", "isRegex": False}],
            "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z",
            "createdBy": "capture", "comment": "golden"}).encode()
        req = urllib.request.Request(f"http://{AM_HTTP}/api/v2/silences", body, {"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
        # The reconnect loop's join carries the silence in the full state.
        conn, _ = tcp.accept(); conn.settimeout(2)
        write("am025-pushpull-join.bin", drain(conn)); conn.close()
        # Ping: [0] {"SeqNo": 7, "Node": ""}
        ping = bytes([0, 0x82, 0xa5]) + b"SeqNo" + bytes([7, 0xa4]) + b"Node" + bytes([0xa0])
        udp.sendto(ping, AM_GOSSIP)
        packet, _ = udp.recvfrom(65536)
        write("am025-ack-packet.bin", packet)
    finally:
        am.kill(); am.wait()

def drain(conn):
    out = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            return out
        if not chunk:
            return out
        out += chunk

def wait_http():
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://{AM_HTTP}/-/ready").read(); return
        except Exception:
            time.sleep(0.1)
    sys.exit("alertmanager did not become ready")

def write(name, data):
    open(os.path.join(HERE, name), "wb").write(data)
    print(name, len(data), data[:40].hex())

main()
