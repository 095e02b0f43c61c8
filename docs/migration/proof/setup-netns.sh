#!/bin/sh
# Two "hosts" for the proofs: netns mpA (192.168.200.1) and mpB (192.168.200.2) joined by a veth.
set -e
ip netns add mpA; ip netns add mpB
ip link add mpvethA type veth peer name mpvethB
ip link set mpvethA netns mpA; ip link set mpvethB netns mpB
ip -n mpA addr add 192.168.200.1/24 dev mpvethA; ip -n mpB addr add 192.168.200.2/24 dev mpvethB
for n in A B; do ip -n mp$n link set mpveth$n up; ip -n mp$n link set lo up; done
# teardown: ip netns del mpA; ip netns del mpB
