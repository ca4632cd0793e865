"""Two-stage training: ``stages`` (pretrain, retrain_head, train_run), ``checkpoints``, ``runtime`` (devices, threads, precision)."""
