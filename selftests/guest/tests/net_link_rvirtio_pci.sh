#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# net_link.sh with the NIC on rvirtio-pci: our net driver over our transport.
RVNET_TRANSPORT=rust exec bash "$(dirname "$0")/net_link.sh"
