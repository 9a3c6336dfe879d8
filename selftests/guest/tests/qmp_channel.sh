#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest reaches QEMU's QMP: the device status of the NIC under test, as QEMU sees it.
. "$(dirname "$0")/../lib.sh"

st=$(qmp query-status) || fail "query-status failed"
echo "$st"
echo "$st" | grep -q '"running"' || fail "VM not reported running"

vs=$(qmp x-query-virtio-status '{"path": "/machine/peripheral/nic0/virtio-backend"}') ||
	fail "x-query-virtio-status failed"
echo "$vs" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("nic0: device-id", s["device-id"], "status", s["status"], "broken", s["broken"])
assert s["device-id"] == 1, "nic0 is not a network device"
assert s["broken"] is False, "nic0 is broken"
' || fail "unexpected virtio status"
