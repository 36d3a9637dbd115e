"""Export recommender factors as the ONNX graph described in edge/recommend/model_format.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edge.recommend import model_format as fmt
from models.recommender.model import Factors

OPSET = 17
IR_VERSION = 8
"""Readable by onnxruntime 1.14 and later (edge boxes update slower than HQ)."""


def build_onnx(
    factors: Factors,
    *,
    model_version: str,
    catalog_version: str,
    extra_metadata: Mapping[str, str] | None = None,
) -> onnx.ModelProto:
    n_items = len(factors.gtins)
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(factors.u, np.float32), "U"),
        numpy_helper.from_array(np.ascontiguousarray(factors.v.T, np.float32), "Vt"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
    ]
    nodes = [
        helper.make_node("Gather", ["U", fmt.INPUT_ITEMS], ["rows"], axis=0),
        helper.make_node("Unsqueeze", [fmt.INPUT_WEIGHTS, "axis1"], ["weight_column"]),
        helper.make_node("Mul", ["rows", "weight_column"], ["hidden"]),
        helper.make_node("ReduceSum", ["hidden", "axis0"], ["hidden_sum"], keepdims=1),
        helper.make_node("MatMul", ["hidden_sum", "Vt"], ["all_scores"]),
        helper.make_node(
            "TopK",
            ["all_scores", fmt.INPUT_K],
            [fmt.OUTPUT_SCORES, fmt.OUTPUT_INDICES],
            axis=1,
            largest=1,
            sorted=1,
        ),
        helper.make_node("Squeeze", [fmt.OUTPUT_INDICES, "axis0"], ["top"]),
        helper.make_node("Gather", ["Vt", "top"], ["top_columns"], axis=1),
        helper.make_node("MatMul", ["hidden", "top_columns"], [fmt.OUTPUT_CONTRIBUTIONS]),
    ]
    graph = helper.make_graph(
        nodes,
        "o2o_item2item",
        inputs=[
            helper.make_tensor_value_info(fmt.INPUT_ITEMS, TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info(fmt.INPUT_WEIGHTS, TensorProto.FLOAT, ["n"]),
            helper.make_tensor_value_info(fmt.INPUT_K, TensorProto.INT64, [1]),
        ],
        outputs=[
            helper.make_tensor_value_info(fmt.OUTPUT_SCORES, TensorProto.FLOAT, [1, "k"]),
            helper.make_tensor_value_info(fmt.OUTPUT_INDICES, TensorProto.INT64, [1, "k"]),
            helper.make_tensor_value_info(fmt.OUTPUT_CONTRIBUTIONS, TensorProto.FLOAT, ["n", "k"]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="o2o-edge models.recommender",
        doc_string=f"Item-to-item companions for {n_items} products, rank {factors.rank}",
    )
    model.ir_version = IR_VERSION
    metadata = {
        fmt.META_FORMAT: fmt.FORMAT,
        fmt.META_MODEL_VERSION: model_version,
        fmt.META_CATALOG_VERSION: catalog_version,
        fmt.META_GTINS: json.dumps(list(factors.gtins), separators=(",", ":")),
        **(extra_metadata or {}),
    }
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def export_onnx(
    factors: Factors,
    path: Path,
    *,
    model_version: str,
    catalog_version: str,
    extra_metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write the model to ``path`` (written beside it first, then renamed: never half a file)."""
    model = build_onnx(
        factors,
        model_version=model_version,
        catalog_version=catalog_version,
        extra_metadata=extra_metadata,
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(model.SerializeToString())
    tmp.replace(path)
    return path
