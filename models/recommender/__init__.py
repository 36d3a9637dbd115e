"""Item-to-item recommender: synthetic history, training, ONNX export (see MODEL_CARD.md)."""
