"""Training: the network (``neural``), the training data (``data``) and whole model files (``model``)."""
