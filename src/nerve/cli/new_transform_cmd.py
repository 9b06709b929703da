"""``nerve new-transform -m MODEL_TYPE``: print a starting Lua transform (encoderfile's
``new-transform``), for the model type nerve builds."""

from __future__ import annotations

import argparse

from ..build.errors import BuildError

TEMPLATE = """\
--- Postprocess(arr): runs on every model batch before nerve reads the scores.
---   arr: Tensor [batch, tokens, labels] of logits (axes are 1-based).
---   return: a Tensor of exactly the same shape: logits, or probabilities along axis 3.
--- The Tensor API and the sandbox are described in nerve's docs/build.md ("Transforms").
---@param arr Tensor
---@return Tensor
function Postprocess(arr)
    -- Scores as probabilities over the labels of each token.
    return arr:softmax(3)
end
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("new-transform", help="print a starting Lua transform for a model type")
    p.add_argument(
        "-m", "--model-type", required=True, help="token_classification (nerve's model type)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.model_type != "token_classification":
        raise BuildError(
            f"model type {args.model_type!r}: nerve builds only token_classification models"
        )
    print(TEMPLATE, end="")
    return 0
