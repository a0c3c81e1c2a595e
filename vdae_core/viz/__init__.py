"""Plotly figure builders: arrays in, ``plotly.graph_objects.Figure`` out.

No Streamlit here (the app's pages call these and hand the figures to ``st.plotly_chart``), so every
figure can also be built by scripts and tests and exported as standalone HTML with
:func:`vdae_core.viz.export.figure_html`.

Modules: :mod:`.scatter` (point clouds, latents, joint embeddings), :mod:`.walks` (animated random
walks, bursts, convergence), :mod:`.curves` (loss curves), :mod:`.bilip` (bi-Lipschitz heatmaps and
histogram), :mod:`.images` (montages, thumbnails at latent positions), :mod:`.export`.
"""
