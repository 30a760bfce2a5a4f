"""The federation's use cases: the home side (publications, peer holds, peer instances: what a peer may
do here through /federation/v1) and the hub side (peers, the two-phase booking across them, renew-to-T)."""
