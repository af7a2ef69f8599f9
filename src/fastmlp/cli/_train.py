"""``fastmlp train``: train on a held-out split and print the table of results."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

import fastmlp as fm
from fastmlp.callbacks import _format_value

from ._common import CLIError, _check_writable, _label_text, _pyplot, _thread_limit
from ._data import _Data, load_data


def _make_optimizer(name: str, lr: float | None) -> Any:
    if lr is None and name != "sgd":
        return fm.optimizers.get(name)   # the optimizer's own default rate
    return fm.optimizers.OPTIMIZERS[name](learning_rate=0.05 if lr is None else lr)


def _fold_standardization(model: Any, mean: np.ndarray, scale: np.ndarray,
                          y_mean: float | None, y_scale: float) -> None:
    """Rewrite the weights so the model takes raw features (and gives raw targets).

    With ``z = (x - mean) / scale``, ``z @ W + b = x @ (W / scale[:, None]) +
    (b - (mean / scale) @ W)``; a standardized regression output ``t`` becomes
    ``t * y_scale + y_mean`` by scaling the last layer's ``W`` and ``b``.
    """
    weights = [w.astype(np.float64) for w in model.get_weights()]
    W, b = weights[0], weights[1]
    weights[0] = W / scale[:, None]
    weights[1] = b - (mean / scale) @ W
    if y_mean is not None:
        last = sum(len(layer.params) for layer in model.layers[:-1])
        weights[last] = weights[last] * y_scale
        weights[last + 1] = weights[last + 1] * y_scale + y_mean
    model.set_weights(weights)


def _format_table(rows: list[tuple[str, Any, int]], keys: list[str],
                  headers: list[str]) -> str:
    cells = [["", *headers, "samples"]]
    for name, values, n in rows:
        cells.append([name, *(_format_value(values[k]) for k in keys), str(n)])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for r, row in enumerate(cells):
        line = row[0].ljust(widths[0]) + "".join(
            "  " + cell.rjust(w) for cell, w in zip(row[1:], widths[1:]))
        lines.append(line)
        if r == 0:
            lines.append("-" * len(line))
    return "\n".join(lines)


def _describe_model(model: Any) -> str:
    parts = [f"Dense({layer.units}, {layer.activation})" for layer in model.layers]
    return " -> ".join(parts) + f"   ({model.count_params():,} parameters)"


def _write_training_plot(path: str, history: Any, model: Any, data: _Data,
                         X_train: np.ndarray, y_train: np.ndarray) -> None:
    plt = _pyplot()
    keys = [k for k in history.history if not k.startswith("val_")]
    boundary = data.X.shape[1] == 2 and data.task != "regression"
    n = len(keys) + int(boundary)
    fig, axes = plt.subplots(1, n, figsize=(4.8 * n, 4.0), squeeze=False)
    axes = list(axes[0])
    fm.plot.learning_curves(history, keys=keys, ax=axes[:len(keys)])
    if boundary:
        fm.plot.decision_boundary(model, X_train, y_train, ax=axes[-1])
        axes[-1].set_title("decision boundary (training rows)")
    units = " (curves in standardized target units)" if data.task == "regression" else ""
    fig.suptitle(f"fastmlp on {data.name}{units}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _interrupted(args: argparse.Namespace, model: Any, scaler: Any, y_mean: float | None,
                 y_scale: float) -> int:
    """After Ctrl-C during training: save the model of the last completed step when
    --save was given, say where, and return 130."""
    done = len(model.history.epoch) if model.history is not None else 0
    if args.save is None:
        print(f"\nfastmlp: interrupted after {done} completed epoch(s); nothing saved (give "
              "--save PATH to keep the model when you stop early)", file=sys.stderr)
        return 130
    _fold_standardization(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
    model.save(args.save)
    print(f"\nfastmlp: interrupted after {done} completed epoch(s); saved the model of the "
          f"last completed step to {args.save}", file=sys.stderr)
    return 130


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.patience > 0 and args.val_fraction == 0:
        raise CLIError("--patience needs validation rows (--val-fraction > 0)")
    if args.save is not None:
        _check_writable(args.save, "--save")
    if args.plot is not None:
        _check_writable(args.plot, "--plot")
        _pyplot()
    start = time.perf_counter()
    data = load_data(args)
    n, d = data.X.shape
    rng = np.random.default_rng(args.seed)
    classify = data.task != "regression"
    stratify = data.y if classify else None

    if args.test_fraction > 0:
        X_rest, X_test, y_rest, y_test = fm.train_test_split(
            data.X, data.y, test_size=args.test_fraction, stratify=stratify, seed=rng)
    else:
        X_rest, X_test, y_rest, y_test = data.X, None, data.y, None
    if args.val_fraction > 0:
        X_train, X_val, y_train, y_val = fm.train_test_split(
            X_rest, y_rest, test_size=args.val_fraction,
            stratify=y_rest if classify else None, seed=rng)
    else:
        X_train, X_val, y_train, y_val = X_rest, None, y_rest, None

    scaler = fm.StandardScaler().fit(X_train)
    y_mean: float | None = None   # set for a regression: its target is standardized too
    y_scale = 1.0
    if data.task == "regression":
        y_mean = float(np.mean(y_train))
        y_scale = float(np.std(y_train)) or 1.0

    def targets(y: np.ndarray) -> np.ndarray:
        return (y - y_mean) / y_scale if y_mean is not None else y

    if data.task == "binary":
        head, loss, metrics = fm.Dense(1, activation="sigmoid"), "binary_crossentropy", \
            ["accuracy"]
    elif data.task == "multiclass":
        assert data.classes is not None
        head, loss, metrics = (fm.Dense(len(data.classes), activation="softmax"),
                               "sparse_categorical_crossentropy", ["accuracy"])
    else:
        head, loss, metrics = fm.Dense(1), "mean_squared_error", ["mean_absolute_error", "r2"]
    layers = [fm.Dense(w, activation=args.activation) for w in args.layers] + [head]
    model = fm.Sequential(layers, seed=args.seed, dtype=args.dtype, backend=args.backend)
    model.build(d)
    optimizer = _make_optimizer(args.optimizer, args.lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    if classify:
        model.classes = data.classes   # kept in the model file: predict writes these
    model.feature_names = data.feature_names

    task_text = {"binary": "binary classification", "multiclass": "classification",
                 "regression": "regression"}[data.task]
    if classify:
        assert data.classes is not None, "load_data gives a classification its classes"
        shown = [_label_text(c) for c in data.classes[:10]]
        task_text += f" ({len(data.classes)} classes: " + ", ".join(shown) + \
            (", ..." if len(data.classes) > 10 else "") + ")"
    split = f"{len(X_train)} train"
    if X_val is not None:
        split += f" / {len(X_val)} validation"
    if X_test is not None:
        split += f" / {len(X_test)} test"
    print(f"data      {data.name}: {n} samples, {d} features, {task_text}", file=out)
    print(f"          {data.description}", file=out)
    print(f"split     {split}{' (stratified)' if classify else ''}, seed {args.seed}; "
          f"standardized with training statistics", file=out)
    print(f"model     {_describe_model(model)}", file=out)
    batch = "full batch" if args.batch_size is None else f"batch {args.batch_size}"
    print(f"training  {model.optimizer!r}, loss {loss}, {args.epochs} epochs, {batch}, "
          f"backend {model.backend}, {args.dtype}", file=out)
    if y_mean is not None:
        print(f"units     progress in standardized target units: z = (y - {y_mean:.6g}) / "
              f"{y_scale:.6g}\n          (MSE x {y_scale ** 2:.6g}, MAE x {y_scale:.6g} "
              "give the target's own units);\n          the final table is in the "
              "target's own units", file=out)
    out.flush()

    callbacks = []
    if args.patience > 0:
        callbacks.append(fm.callbacks.EarlyStopping(patience=args.patience,
                                                    restore_best_weights=True))
    verbose = args.verbose
    if verbose is None:
        verbose = 1 if sys.stderr.isatty() else 2
    Z_train = scaler.transform(X_train)
    validation = ((scaler.transform(X_val), targets(y_val))
                  if X_val is not None and y_val is not None else None)
    with _thread_limit(args.threads):
        t0 = time.perf_counter()
        try:
            history = model.fit(Z_train, targets(y_train), epochs=args.epochs,
                                batch_size=args.batch_size, validation_data=validation,
                                verbose=verbose, callbacks=callbacks)
        except KeyboardInterrupt:
            # fit stopped between steps: the model holds the last completed step
            return _interrupted(args, model, scaler, y_mean, y_scale)
        fit_seconds = time.perf_counter() - t0
        _fold_standardization(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
        rows = [("train", model.evaluate(X_train, y_train, return_dict=True), len(X_train))]
        if X_val is not None:
            rows.append(("validation", model.evaluate(X_val, y_val, return_dict=True), len(X_val)))
        if X_test is not None:
            rows.append(("test", model.evaluate(X_test, y_test, return_dict=True), len(X_test)))

    epochs_run = len(history.epoch)
    sys.stderr.flush()
    print(file=out)
    if data.task == "regression":
        keys, headers = ["loss", "mean_absolute_error", "r2"], ["MSE", "MAE", "R^2"]
    else:
        keys, headers = ["loss", "accuracy"], ["loss", "accuracy"]
    print(_format_table(rows, keys, headers), file=out)
    if data.task == "regression":
        print(f"(in the target's own units: MAE in units of {data.target_name!r}, MSE in "
              "their square; R^2 has none)", file=out)
    else:
        print("(loss: cross-entropy in nats; accuracy: the fraction classified right)",
              file=out)
    early = callbacks[0] if callbacks else None
    stopped = (f", stopped early (best epoch {early.best_epoch + 1})"
               if early is not None and early.stopped_epoch is not None
               and early.best_epoch is not None else "")
    print(f"\n{epochs_run} epochs in {fit_seconds:.2f} s{stopped}; "
          f"{time.perf_counter() - start:.2f} s in all", file=out)
    if args.save is not None:
        model.save(args.save)
        print(f"saved the model to {args.save} (it takes raw, unstandardized features"
              f"{' and gives raw target values' if y_mean is not None else ''})", file=out)
    if args.plot is not None:
        _write_training_plot(args.plot, history, model, data, X_train, y_train)
        print(f"wrote {args.plot}", file=out)
    return 0
