"""dlib's face embedding network, rebuilt as an ONNX graph from its own model file at start-up.

Why: the prebuilt ``dlib-bin`` wheel is compiled without BLAS, so dlib runs its ResNet
(``dlib_face_recognition_resnet_model_v1.dat``) in about 110 ms per face on one core; the
same network on onnxruntime takes about 15-30 ms. The weights are read from the installed
``face-recognition-models`` file (nothing is downloaded or written) and laid out in the
network that dlib's ``dnn_face_recognition_ex.cpp`` defines::

    input 150x150 RGB: (pixel - mean) / 256
    conv 7x7/2 (32) - affine - relu - max pool 3x3/2
    3 x res(32) | res_down(64) + 3 x res(64) | res_down(128) + 2 x res(128)
    | res_down(256) + 2 x res(256) | res_down(256)
    global average pool - fully connected 256 -> 128 (no bias)

    res(N)      = relu(x + affine(conv3x3(relu(affine(conv3x3(x))))))
    res_down(N) = relu(block with a stride-2 first conv + avg pool 2x2/2 of x)

dlib pads convolutions only at stride 1 and adds tensors of different shapes by zero-padding
the smaller one at the end of each axis (channels and, from 8x8 down, rows and columns); the
graph does the same. tests/vision/test_backends.py checks the result against dlib's own
``compute_face_descriptor`` (equal to 1e-5).

The reader understands only what this file holds: dlib's serialisation of integers (a length
byte with the sign in its top bit, then little-endian bytes), strings, floats (mantissa and
exponent) and tensors (version, four dimensions, raw little-endian float32).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHIP_PX = 150
EMBEDDING_SIZE = 128
_LAYER = re.compile(rb"\x01[\x03-\x20](con_4|affine_|fc_2|input_rgb_image_sized)")
# Residual blocks after each downsampling block (to 64, 128, 256, 256 channels).
_RESIDUALS_PER_LEVEL = (3, 2, 2, 0)


class DlibModelError(ValueError):
    """The model file is not the network this converter knows."""


class _Reader:
    def __init__(self, data: bytes, position: int) -> None:
        self._data = data
        self.position = position

    def integer(self) -> int:
        if self.position >= len(self._data):
            raise DlibModelError("the model file ends in the middle of a layer")
        head = self._data[self.position]
        size = head & 0x0F
        start = self.position + 1
        value = int.from_bytes(self._data[start : start + size], "little")
        self.position = start + size
        return -value if head & 0x80 else value

    def text(self) -> str:
        size = self.integer()
        value = self._data[self.position : self.position + size].decode("ascii")
        self.position += size
        return value

    def real(self) -> float:
        mantissa = self.integer()
        return float(mantissa * 2.0 ** self.integer())

    def tensor(self) -> np.ndarray:
        self.integer()  # version
        shape = [self.integer() for _ in range(4)]
        count = int(np.prod(shape))
        end = self.position + 4 * count
        if end > len(self._data):
            raise DlibModelError("a tensor runs past the end of the model file")
        values = np.frombuffer(self._data[self.position : end], dtype="<f4")
        self.position = end
        return values.astype(np.float32)


@dataclass(frozen=True, slots=True)
class _Conv:
    params: np.ndarray
    filters: int
    kernel: int
    stride: int
    padding: int


def _layers(data: bytes) -> Iterator[tuple[str, object]]:
    """The parameterised layers in file order (input side first)."""
    for found in _LAYER.finditer(data):
        reader = _Reader(data, found.start())
        kind = reader.text()
        if kind == "con_4":
            params = reader.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (
                reader.integer() for _ in range(7)
            )
            if rows != cols or stride_y != stride_x or pad_y != pad_x:
                raise DlibModelError(f"unexpected convolution {rows}x{cols}/{stride_y}")
            yield "conv", _Conv(params, filters, rows, stride_y, pad_y)
        elif kind == "affine_":
            yield "affine", reader.tensor()
        elif kind == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            yield "fc", reader.tensor().reshape(inputs, outputs)
        else:
            yield "input", np.array([reader.real() for _ in range(3)], dtype=np.float32)


class _Graph:
    def __init__(self, layers: Iterator[tuple[str, object]]) -> None:
        self._layers = layers
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, value: np.ndarray, prefix: str) -> str:
        name = self._name(prefix)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], **attributes: Any) -> str:
        output = self._name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def take(self, expected: str) -> object:
        try:
            kind, value = next(self._layers)
        except StopIteration:
            raise DlibModelError(f"the model ends where a {expected} layer was expected") from None
        if kind != expected:
            raise DlibModelError(f"found a {kind} layer where a {expected} layer was expected")
        return value

    def conv_affine(self, x: str, channels_in: int) -> tuple[str, int]:
        conv = self.take("conv")
        assert isinstance(conv, _Conv)
        size = conv.filters * channels_in * conv.kernel**2
        if conv.params.size != size + conv.filters:
            raise DlibModelError(f"convolution of {conv.params.size} values, not {size}+bias")
        weights = conv.params[:size].reshape(conv.filters, channels_in, conv.kernel, conv.kernel)
        out = self.op(
            "Conv",
            [x, self.const(weights, "w"), self.const(conv.params[size:], "b")],
            kernel_shape=[conv.kernel] * 2,
            strides=[conv.stride] * 2,
            pads=[conv.padding] * 4,
        )
        affine = self.take("affine")
        assert isinstance(affine, np.ndarray)
        gamma, beta = affine[: conv.filters], affine[conv.filters :]
        scaled = self.op("Mul", [out, self.const(gamma.reshape(1, -1, 1, 1), "gamma")])
        return self.op("Add", [scaled, self.const(beta.reshape(1, -1, 1, 1), "beta")]), conv.filters

    def residual(self, x: str, channels: int) -> str:
        branch, _ = self.conv_affine(x, channels)
        branch, _ = self.conv_affine(self.op("Relu", [branch]), channels)
        return self.op("Relu", [self.op("Add", [branch, x])])

    def residual_down(self, x: str, channels: int, side: int) -> tuple[str, int, int]:
        branch, filters = self.conv_affine(x, channels)
        branch, _ = self.conv_affine(self.op("Relu", [branch]), filters)
        pooled = self.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        branch_side, pooled_side = (side - 3) // 2 + 1, (side - 2) // 2 + 1
        out_side = max(branch_side, pooled_side)
        grow = out_side - branch_side
        branch = self.op("Pad", [branch, self.const(np.array([0, 0, 0, 0, 0, 0, grow, grow]), "p")])
        grow = out_side - pooled_side
        pad = np.array([0, 0, 0, 0, 0, filters - channels, grow, grow])
        pooled = self.op("Pad", [pooled, self.const(pad, "p")])
        return self.op("Relu", [self.op("Add", [branch, pooled])]), filters, out_side


def build_model(path: Path) -> onnx.ModelProto:
    """The ONNX model for ``dlib_face_recognition_resnet_model_v1.dat``: input ``chip``
    (N, 150, 150, 3) float RGB 0..255, output ``embedding`` (N, 128)."""
    graph = _Graph(_layers(path.read_bytes()))
    mean = graph.take("input")
    assert isinstance(mean, np.ndarray)
    centred = graph.op("Sub", ["chip", graph.const(mean.reshape(1, 1, 1, 3), "mean")])
    scaled = graph.op("Mul", [centred, graph.const(np.array(1 / 256, dtype=np.float32), "s")])
    x = graph.op("Transpose", [scaled], perm=[0, 3, 1, 2])
    x, channels = graph.conv_affine(x, 3)
    x = graph.op("MaxPool", [graph.op("Relu", [x])], kernel_shape=[3, 3], strides=[2, 2])
    side = ((CHIP_PX - 7) // 2 + 1 - 3) // 2 + 1
    for _ in range(3):
        x = graph.residual(x, channels)
    for repeats in _RESIDUALS_PER_LEVEL:
        x, channels, side = graph.residual_down(x, channels, side)
        for _ in range(repeats):
            x = graph.residual(x, channels)
    pooled = graph.op("Flatten", [graph.op("GlobalAveragePool", [x])])
    weights = graph.take("fc")
    assert isinstance(weights, np.ndarray)
    graph.nodes.append(
        helper.make_node("MatMul", [pooled, graph.const(weights, "fc")], ["embedding"])
    )
    if next(graph._layers, None) is not None:
        raise DlibModelError("the model has more layers than this network")
    onnx_graph = helper.make_graph(
        graph.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chip", TensorProto.FLOAT, ["N", CHIP_PX, CHIP_PX, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBEDDING_SIZE])],
        graph.initializers,
    )
    return helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
