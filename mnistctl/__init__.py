"""mnistctl: define, train and understand Keras neural networks on MNIST from a YAML spec."""

__version__ = "0.1.0"
