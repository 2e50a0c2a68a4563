"""Drive `proxdeck sim` with proxmoxer (an independent Python client) through
the seed scenario: log in with the printed token, list resources, clone the
template and follow the task to OK, take and roll back a snapshot, run vzdump
and find the backup in the storage content. Exits 0 when every step holds.

usage: proxmoxer_scenario.py URL TOKEN_ID TOKEN_SECRET CAFILE
"""

import sys
from urllib.parse import urlparse

from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks


def main():
    url, token_id, secret, cafile = sys.argv[1:5]
    u = urlparse(url)
    user, token_name = token_id.split('!')
    pve = ProxmoxAPI(u.hostname, port=u.port, user=user, token_name=token_name, token_value=secret,
                     verify_ssl=cafile, timeout=30)

    def done(upid, what):
        status = Tasks.blocking_status(pve, upid, timeout=60, polling_interval=0.05)
        assert status and status['status'] == 'stopped', (what, status)
        assert status['exitstatus'] == 'OK', (what, status)
        print('ok:', what, upid)

    resources = pve.cluster.resources.get()
    names = sorted(r['name'] for r in resources if r['type'] in ('qemu', 'lxc'))
    assert names == ['pve-app-03', 'pve-av-01', 'pve-db-01', 'pve-test-01', 'pve-web-01'], names
    print('ok: resources', names)

    newid = int(pve.cluster.nextid.get())
    upid = pve.nodes('pve-node-01').qemu(101).clone.post(newid=newid, name='pve-db-09', full=1)
    decoded = Tasks.decode_upid(upid)
    assert decoded['type'] == 'qmclone' and decoded['id'] == '101', decoded
    done(upid, 'clone')
    cfg = pve.nodes('pve-node-01').qemu(newid).config.get()
    assert cfg['name'] == 'pve-db-09', cfg

    ct = pve.nodes('pve-node-01').lxc(103)
    done(ct.snapshot.post(snapname='before_change', description='proxmoxer'), 'snapshot')
    snaps = [s['name'] for s in ct.snapshot.get()]
    assert 'before_change' in snaps and 'current' in snaps, snaps
    done(ct.snapshot('before_change').rollback.post(), 'rollback')

    done(pve.nodes('pve-node-01').vzdump.post(vmid=103, storage='local', compress='zstd', mode='snapshot'), 'vzdump')
    content = pve.nodes('pve-node-01').storage('local').content.get(content='backup', vmid=103)
    assert any(c['volid'].startswith('local:backup/vzdump-lxc-103-') for c in content), content
    print('ok: backup listed')

    # An error carries Proxmox's reason phrase and per-field errors.
    try:
        pve.nodes('pve-node-01').qemu(101).clone.post(full=1)
    except Exception as e:  # proxmoxer.core.ResourceException
        assert e.status_code == 400 and 'newid' in str(e), (e.status_code, str(e))
        print('ok: 400 with errors')
    else:
        raise AssertionError('clone without newid succeeded')
    print('scenario complete')


if __name__ == '__main__':
    main()
