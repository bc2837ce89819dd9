rule train:
    output:
        ckpts=[f"{R}/train/{{arch}}/{{padding}}/seed{{seed}}/epoch_{e:03d}.pt" for e in ckpt_epochs()],
        log_csv=f"{R}/train/{{arch}}/{{padding}}/seed{{seed}}/log.csv",
    log:
        f"{R}/logs/train/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{arch}}_{{padding}}_seed{{seed}}.tsv"
    # The padding-free runs cost ~8x the others (their inputs grow to the net's smallest valid
    # size): started first, they never form the run's tail on a few cores.
    priority: lambda w: 1 if w.padding == "none" else 0
    conda:
        TORCH_ENV
    threads: 1  # two small jobs side by side beat one on two threads (measured: 1.25x on 2 cores)
    params:
        arch=arch_entry,
        recipe=TRAIN_RECIPE,
        data=arch_data,
        # Resume state lives outside the declared outputs, so --rerun-incomplete keeps it.
        state_dir=lambda w: f"{R}/.state/train/{w.arch}/{w.padding}/seed{w.seed}",
    script:
        "../workflow_scripts/train.py"
