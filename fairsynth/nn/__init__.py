"""The network layer: torch modules and pure tensor functions, no pandas and no fitting state.

``nets`` (generator, critic, output heads, weight averaging), ``tempering`` (PTGAN's tempered
objective: pairing, temperatures, coherency penalty), ``losses`` (Wasserstein and
non-saturating), ``ntk`` (neural tangent kernels for GA-NTK) and ``_pair_grads`` (per-pair
critic gradients for DP-SGD).
"""
