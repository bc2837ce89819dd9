"""Fig 2: the principal-point shift, measured with the exact alignment and a naive centred crop."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ..alignment import align
from ..metrics import PPPResult
from ..models import PPPModel
from ..ppp import measure_folder

Results = dict[str, PPPResult]


def principal_shift(model: PPPModel, images: str | os.PathLike, input_size: int,
                    **measure: Any) -> tuple[Results, Results, pd.DataFrame]:
    """PPP of ``model`` over ``images`` with the exact alignment and with ``Alignment.centred()``
    (the naive split of the margins), plus one row per (alignment, LoI) of MAE- and SNR-PPP.
    ``measure``: ``measure_folder``'s options (max_images, batch_size, device)."""
    exact = align(model, input_size)
    print(exact.table(), "\nnaive centred crop: input margins", exact.centred().input_margins, flush=True)
    results = {how: measure_folder(model, images, input_size, alignment=a, **measure)
               for how, a in (("exact", exact), ("naive", exact.centred()))}
    rows = [{"alignment": how, "layer": k, "mae_ppp": r.mae_ppp, "snr_ppp": r.snr_ppp}
            for how, res in results.items() for k, r in res.items()]
    return results["exact"], results["naive"], pd.DataFrame(rows)
