"""The TensorFlow side: model building, compiling, the input pipeline, precision, model files."""
