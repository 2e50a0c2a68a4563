"""Serve fakepve for proxdeck's Rust tests, with a control channel on stdin.

Started by tests/common/fakepve.rs. Prints one JSON line when listening:
  {"url": ..., "host": ..., "port": ..., "certfile": ..., "fingerprint": "AA:BB:..."}
then reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "fail", "method": "POST", "path": "/nodes/pve-node-01/qemu/101/clone", "status": 500, "message": "boom", "times": 1}
  {"op": "fail", "method": "POST", "path": "...", "error": "already_running"}
  {"op": "offline", "node": "pve-node-02", "offline": true}
  {"op": "revoke_tickets"} | {"op": "ticket_ttl", "secs": 1}
  {"op": "token", "id": "user@pve!name", "secret": "..."}
  {"op": "grant", "user": "user@pve!name", "path": "/", "privs": ["VM.Audit"]}
  {"op": "hold_lock", "vmid": 101, "secs": 5} | {"op": "release_lock", "vmid": 101}
  {"op": "set_lock", "vmid": 105, "lock": "backup"} | {"op": "unlock", "vmid": 105}
  {"op": "time_scale", "value": 0.01}
  {"op": "requests"}  -> {"ok": true, "requests": [[method, path], ...]}
The process exits when stdin closes (the Rust harness dropped it).
"""

import argparse
import asyncio
import hashlib
import json
import logging
import shutil
import sys
import tempfile

from fakepve.certs import make_cert
from fakepve.server import FakePve


def fingerprint(der):
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def load_guests(pve, path):
    with open(path) as f:
        doc = json.load(f)
    for node in doc.get('nodes', []):
        pve.add_node(node)
    # Extra storages, as storage.cfg would list them (e.g. a shared NFS for images).
    for st in doc.get('storages', []):
        store = {'active': 1, 'files': set(), 'volumes': {}}
        store.update(st)
        pve.storages[store.pop('id')] = store
    for g in doc['guests']:
        kind = g.get('type', 'qemu')
        common = dict(node=g.get('node', 'pve1'), status=g.get('status', 'stopped'),
                      config=g.get('config', {}), template=g.get('template', False), lock=g.get('lock'))
        if kind == 'lxc':
            pve.add_ct(g['vmid'], g.get('name'), ostemplate=g.get('ostemplate'), **common)
        else:
            pve.add_vm(g['vmid'], g['name'], **common)


async def control(pve, command):
    op = command['op']
    if op == 'fail':
        kwargs = {k: command[k] for k in ('status', 'message', 'error', 'times') if k in command}
        pve.fail(command['method'], command['path'], **kwargs)
    elif op == 'offline':
        pve.set_node_offline(command['node'], command.get('offline', True))
    elif op == 'revoke_tickets':
        pve.revoke_tickets()
    elif op == 'ticket_ttl':
        pve.ticket_ttl = command['secs']
    elif op == 'token':
        pve.apitokens[command['id']] = command['secret']
    elif op == 'grant':
        pve.grant(command['user'], command['path'], *command['privs'])
    elif op == 'hold_lock':
        await pve.hold_config_lock(command['vmid'], command.get('secs'))
    elif op == 'release_lock':
        pve.release_config_lock(command['vmid'])
    elif op == 'set_lock':
        pve.snapshot_lock(command['vmid'], command['lock'])
    elif op == 'unlock':
        pve.unlock(command['vmid'])
    elif op == 'time_scale':
        pve.time_scale = command['value']
    elif op == 'requests':
        return {'requests': [[m, p] for (m, p, _body) in pve.requests]}
    else:
        raise ValueError('unknown op ' + op)
    return {}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('guests')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--token', action='append', default=[], help='ID=SECRET')
    parser.add_argument('--time-scale', type=float, default=0.0)
    parser.add_argument('--password', default='secret')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    pve = FakePve(user='root@pam', password=args.password, host=args.host, port=0)
    pve.time_scale = args.time_scale
    load_guests(pve, args.guests)
    for token in args.token:
        tid, _, secret = token.partition('=')
        pve.apitokens[tid] = secret
    tmp = tempfile.mkdtemp(prefix='proxdeck-fakepve-')
    certfile, keyfile, der = make_cert(tmp, hosts=(args.host,))
    await pve.start(certfile, keyfile)
    print(json.dumps({'url': pve.url, 'host': pve.host, 'port': pve.port, 'certfile': certfile,
                      'fingerprint': fingerprint(der)}), flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        try:
            answer = await control(pve, json.loads(line))
            answer['ok'] = True
        except Exception as exc:  # the test sees the message
            answer = {'ok': False, 'error': '{0}: {1}'.format(type(exc).__name__, exc)}
        print(json.dumps(answer), flush=True)
    await pve.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    asyncio.run(main())
