"""MeshTalk on registered meshes (any vertex count; the dataset's dataset.json says
"face": "mesh" and holds masks/<region>.npy), MeshTalk's sizes (64 heads of 128 classes), batch
4 × 64 frames; fits a 24 GiB CPU machine for ~7,000 vertices.

    talkmesh synth /tmp/talkmesh-mesh --clips 24 --mesh
    talkmesh train --config meshtalk_mesh --workdir runs/meshtalk-mesh --data /tmp/talkmesh-mesh
"""

from talkmesh_jax.configs.meshtalk_tiny import get_config as tiny_config


def get_config():
    config = tiny_config()
    config.model.num_landmarks = None  # the dataset's vertex count
    config.model.meshtalk.feature_dim = 128
    config.model.meshtalk.num_heads = 64
    config.model.meshtalk.num_classes = 128
    config.data.window_frames = 64
    config.data.stride_frames = 32
    config.data.batch_size = 4
    config.train.steps = 2000
    config.model.meshtalk.context_steps = 1000
    return config
