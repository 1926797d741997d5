"""What a trained network's layers actually use: activations, effective dimension, pictures and
width advice (``archscale inspect``)."""
