"""The paper's reproduction on top of the metric core: training, data sources, PosENet, BHV,
saliency metrics, tables and figures. It imports ``pppcore``'s core; the core never imports it,
so ``import pppcore`` stays torch + numpy + pillow.
"""
