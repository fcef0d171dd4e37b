"""The MeshTalk family: categorical codes and cross-modality loss (model), the masked
autoregressive code prior (prior), and its family interface (family)."""
