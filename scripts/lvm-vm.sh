#!/bin/bash
# lvm-vm.sh - real LVM2 (device-mapper) inside a throw-away QEMU guest, for the LVM tests.
# Adapted from ../shared/tools/lvm-vm/run-lvm-vm.sh (its selftest scenario is not carried over).
#
# The host kernel has no device-mapper, and its /dev/kvm is PVM (kvm_pvm), which cannot
# run a stock Debian kernel, so the guest runs under QEMU TCG (software emulation).
# virtme-ng boots the Debian kernel with the host's rootfs shared read-only over 9p
# (/etc /usr /var /tmp ... get a tmpfs overlay inside the guest, so the host is untouched).
#
# Usage (as root):
#   run-lvm-vm.sh install         apt + pip dependencies (once per fresh machine)
#   run-lvm-vm.sh selftest        boot, run the LVM snapshot scenario, power off
#   run-lvm-vm.sh start           boot in background; sshd on 127.0.0.1:$PORT; VG "pve" on a virtio disk (work/pv0.img)
#   run-lvm-vm.sh ssh CMD...      run CMD in the guest (same as: ssh $(run-lvm-vm.sh sshopts) root@127.0.0.1 CMD)
#   run-lvm-vm.sh sshopts         print ssh options a host program can use
#   run-lvm-vm.sh stop            power the guest off (kills the vng/qemu PID it started if needed)
#
# Env: LVMVM_DIR (/tmp/lvm-vm) LVMVM_PORT (2222) LVMVM_MEM (2G) LVMVM_CPUS (2)
#      LVMVM_DISK_SIZE (4G) LVMVM_VG (pve) LVMVM_LVMPOLLD (1 = run lvmpolld like a real host)
#      LVMVM_ACCEL (tcg; "kvm" only on hosts with real VT-x/AMD-V KVM)
set -euo pipefail

DIR=${LVMVM_DIR:-/tmp/lvm-vm}
PORT=${LVMVM_PORT:-2222}
MEM=${LVMVM_MEM:-2G}
CPUS=${LVMVM_CPUS:-2}
DISK_SIZE=${LVMVM_DISK_SIZE:-4G}
VG=${LVMVM_VG:-pve}
LVMPOLLD=${LVMVM_LVMPOLLD:-1}
ACCEL=${LVMVM_ACCEL:-tcg}
VNG_VERSION=${LVMVM_VNG_VERSION:-1.42}
WORK=$DIR/work            # shared read-write with the guest (9p)
GDIR=$DIR/guest           # guest-side scripts (read via the /tmp overlay)
SSHDIR=$DIR/ssh
PIDFILE=$DIR/vm.pid
LOG=$DIR/vm.log

kernel() { ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1; }
log() { echo "[run-lvm-vm $(date +%T)] $*" >&2; }

SSH_OPTS=(-p "$PORT" -i "$SSHDIR/id_ed25519" -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes
          -o ConnectTimeout=5 -o ServerAliveInterval=10)

vng_base() {
  local k; k=$(kernel); [ -n "$k" ] || { log "no /boot/vmlinuz-*; run: $0 install"; exit 1; }
  VNG=(vng --run "$k" --user root --memory "$MEM" --cpus "$CPUS" --rwdir "$WORK")
  [ "$ACCEL" = kvm ] || VNG+=(--disable-kvm)
}

write_guest_scripts() {
  mkdir -p "$GDIR" "$WORK"
  # Common guest preparation: modules, lvm.conf tweaks (guest-only overlay), optional lvmpolld.
  cat > "$GDIR/prep.sh" <<EOF
#!/bin/bash
set -e
modprobe -a dm_mod dm_snapshot dm_thin_pool loop virtio_blk virtio_net 2>/dev/null || modprobe -a dm_mod dm_snapshot loop
[ -e /dev/mapper/control ] || { echo "device-mapper not available" >&2; exit 1; }
# virtme-ng masks the guest's /etc/lvm with an empty tmpfs; install the distro lvm.conf there.
mkdir -p /etc/lvm/backup /etc/lvm/archive; cp $GDIR/lvm.conf /etc/lvm/lvm.conf
if [ "$LVMPOLLD" = 1 ]; then
  /usr/sbin/lvmpolld -t 0 || true
else
  sed -i '0,/^global {/s//global {\n\tuse_lvmpolld = 0/' /etc/lvm/lvm.conf
fi
EOF
  cp /etc/lvm/lvm.conf "$GDIR/lvm.conf"
  # Boot script for the long-running (ssh) mode.
  cat > "$GDIR/sshd-boot.sh" <<EOF
#!/bin/bash
set -e
export LVM_SUPPRESS_FD_WARNINGS=1
. $GDIR/prep.sh
# Network: QEMU user-mode (slirp) defaults.
IF=\$(ls /sys/class/net | grep -v '^lo\$' | head -n1)
ip link set lo up; ip link set "\$IF" up
ip addr add 10.0.2.15/24 dev "\$IF"; ip route add default via 10.0.2.2
# PV = the virtio-blk disk with serial "lvmpv0" (host file $WORK/pv0.img).
PV=
for i in \$(seq 50); do
  for b in /sys/block/vd*; do [ "\$(cat \$b/serial 2>/dev/null)" = lvmpv0 ] && PV=/dev/\${b##*/}; done
  [ -n "\$PV" ] && [ -b "\$PV" ] && break; sleep 0.2
done
[ -b "\$PV" ] || { echo "PV disk not found" >&2; exit 1; }
if ! vgs $VG >/dev/null 2>&1; then pvcreate -y \$PV && vgcreate $VG \$PV; fi
vgchange -ay $VG >/dev/null
echo "GUEST-READY pv=\$PV" > /dev/kmsg
echo "GUEST-READY pv=\$PV"
mkdir -p /run/sshd; chmod 755 /run/sshd
# The host's /root (dotfiles: pyenv init etc.) is visible read-only in the guest and makes
# every ssh command slow under TCG; give root a clean, writable home instead.
mount -t tmpfs -o mode=700 roothome /root
# virtme-ng bind-mounts a generated /etc/shadow with root locked ("!"); sshd (UsePAM=no) refuses
# locked accounts even for key auth. Unlock for key-only login (guest-only file, rewrite in place).
if grep -q '^root:' /etc/shadow; then
  sed 's/^root:[^:]*:/root:*:/' /etc/shadow > /run/shadow.new && cat /run/shadow.new > /etc/shadow
else
  echo 'root:*:19000:0:99999:7:::' >> /etc/shadow
fi
exec /usr/sbin/sshd -D -e -f /dev/null -o Port=22 -o ListenAddress=0.0.0.0 \
  -o HostKey=$SSHDIR/ssh_host_ed25519_key -o AuthorizedKeysFile=$SSHDIR/authorized_keys \
  -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o UsePAM=no \
  -o StrictModes=no -o UseDNS=no -o PidFile=/run/sshd.pid \
  -o SetEnv=LVM_SUPPRESS_FD_WARNINGS=1 -o "Subsystem=sftp /usr/lib/openssh/sftp-server"
EOF
  cp "$(dirname "$(readlink -f "$0")")/guest-test.sh" "$GDIR/guest-test.sh" 2>/dev/null || true
  chmod +x "$GDIR"/*.sh
}

case "${1:-}" in
install)
  t0=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  # QEMU comes from bookworm-backports (10.0.x): the base image already has qemu-utils from
  # backports, which Breaks bookworm's qemu-system-common 7.2 (a plain bookworm install of
  # qemu-system-x86 REMOVES qemu-utils/qemu-img). A private sources list keeps /etc/apt untouched.
  BPO=$DIR/apt-bpo; mkdir -p "$BPO/lists/partial" "$BPO/archives/partial"
  # The mirrors are the ones this machine's apt is already configured with (deb822 or one-line format).
  K=/usr/share/keyrings/debian-archive-keyring.gpg
  uris=$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } |
         sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' | tr ' ' '\n' | sort -u)
  M=$(echo "$uris" | grep -v -- '-security' | head -n1 || true)
  S=$(echo "$uris" | grep -- '-security' | head -n1 || true)
  [ -n "$M" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }
  { printf 'deb [signed-by=%s] %s %s main\n' $K "$M" bookworm $K "$M" bookworm-updates $K "$M" bookworm-backports
    [ -z "$S" ] || printf 'deb [signed-by=%s] %s %s main\n' $K "$S" bookworm-security; } > "$BPO/sources.list"
  A=(-o Dir::Etc::sourcelist="$BPO/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::lists="$BPO/lists"
     -o Dir::Cache::archives="$BPO/archives" -o APT::Sandbox::User=root)
  apt-get "${A[@]}" update -q
  apt-get "${A[@]}" install -y -q --no-install-recommends linux-image-amd64 \
      busybox-static lvm2 thin-provisioning-tools openssh-server openssh-client iproute2 kmod
  apt-get "${A[@]}" install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-utils
  pip install -q "virtme-ng==$VNG_VERSION"
  [ -n "$(kernel)" ] && ls -d /lib/modules/*/kernel/drivers/md >/dev/null
  log "install done in $(( $(date +%s) - t0 ))s, kernel $(kernel)"
  ;;
selftest)
  write_guest_scripts; vng_base
  [ -x "$GDIR/guest-test.sh" ] || { log "missing $DIR/guest-test.sh"; exit 1; }
  t0=$(date +%s%N)
  "${VNG[@]}" --exec ". $GDIR/prep.sh && WORK=$WORK SAMPLES=$WORK/samples-lvmpolld$LVMPOLLD $GDIR/guest-test.sh" </dev/null 2>&1 | cat
  log "selftest wall time: $(( ($(date +%s%N)-t0)/1000000 )) ms"
  ;;
start)
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then log "already running"; exit 0; fi
  write_guest_scripts; vng_base
  mkdir -p "$SSHDIR"; chmod 700 "$SSHDIR"
  [ -f "$SSHDIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHDIR/id_ed25519"
  [ -f "$SSHDIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHDIR/ssh_host_ed25519_key"
  cp "$SSHDIR/id_ed25519.pub" "$SSHDIR/authorized_keys"
  [ -f "$WORK/pv0.img" ] || truncate -s "$DISK_SIZE" "$WORK/pv0.img"
  t0=$(date +%s%N)
  # NB: QEMU re-opens /proc/self/fd/1 and /2 for the guest's stdout/stderr; with a plain file
  # they would clobber each other, so always pipe vng's output (here through cat).
  setsid bash -c 'exec "$@" </dev/null 2>&1 | cat >"$0"' "$LOG" "${VNG[@]}" \
      --qemu-opts="-drive file=$WORK/pv0.img,format=raw,if=none,id=pv0,cache=unsafe,discard=unmap -device virtio-blk-pci,drive=pv0,serial=lvmpv0" \
      --qemu-opts="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22 -device virtio-net-pci,netdev=n0" \
      --exec "$GDIR/sshd-boot.sh" >/dev/null 2>&1 &
  echo $! > "$PIDFILE"
  for i in $(seq 1 180); do
    if ssh "${SSH_OPTS[@]}" root@127.0.0.1 true 2>/dev/null; then
      log "guest ready (ssh root@127.0.0.1:$PORT) after $(( ($(date +%s%N)-t0)/1000000 )) ms"; exit 0
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { log "VM exited early:"; cat "$LOG" >&2; exit 1; }
    sleep 1
  done
  log "timeout waiting for guest ssh"; cat "$LOG" >&2; exit 1
  ;;
ssh)
  shift; exec ssh "${SSH_OPTS[@]}" root@127.0.0.1 "$@"
  ;;
sshopts)
  printf '%q ' "${SSH_OPTS[@]}"; echo
  ;;
stop)
  [ -f "$PIDFILE" ] || exit 0
  pid=$(cat "$PIDFILE")
  ssh "${SSH_OPTS[@]}" root@127.0.0.1 'sync; kill $(cat /run/sshd.pid)' 2>/dev/null || true
  for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -- "-$pid" 2>/dev/null || kill "$pid"; fi  # our own process group
  rm -f "$PIDFILE"; log "stopped"
  ;;
*)
  sed -n '2,20p' "$0"; exit 2 ;;
esac
