"""ONNX models shipped with o2o-edge and the code that trains and exports them."""
