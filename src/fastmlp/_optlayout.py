"""The optimizers' numbers shared by the Python API and both engines: rule ids, the layout
of ``Optimizer.hyper()``, schedule kinds and the state layout. A leaf module, so that
the NumPy engine reads them without importing :mod:`fastmlp.optimizers`."""

# -- rule ids: the compiled kernels use the same numbers (OPT_* in backend/_kernels.pxd) --
SGD_KIND = 0
MOMENTUM_KIND = 1       # also Nesterov
ADAGRAD_KIND = 2
ADADELTA_KIND = 3
RMSPROP_KIND = 4
ADAM_KIND = 5           # also AMSGrad
ADAMAX_KIND = 6
NADAM_KIND = 7

# -- layout of Optimizer.hyper() (HYPER_* in backend/_kernels.pxd) --------------------------
H_LR = 0                #: base (initial) learning rate
H_WEIGHT_DECAY = 1
H_RULE = 2              #: six rule-specific values at H_RULE .. H_RULE + 5
H_SCHEDULE = 8          #: schedule kind (SCHEDULE_*)
H_DECAY_STEPS = 9
H_DECAY_RATE = 10
H_POWER = 11
H_STAIRCASE = 12
H_CLIPNORM = 13         #: 0 when off
H_CLIPVALUE = 14        #: 0 when off
H_WARMUP = 15           #: linear warm-up length in updates (0: none)
N_HYPER = 16

# -- schedule kinds (SCHEDULE_* in backend/_kernels.pxd) ------------------------------------
SCHEDULE_CONSTANT = 0
SCHEDULE_EXPONENTIAL = 1
SCHEDULE_INVERSE = 2

#: Layout of the scalar state: step count, then up to three rule-specific values.
N_SCALARS = 4
#: Most state arrays per parameter any rule needs (RMSprop centered with momentum).
MAX_SLOTS = 3
#: Where Adam adds epsilon: after the bias correction of v (PyTorch) or to sqrt(v) with
#: the corrections in the step size (Keras, scikit-learn).
EPSILON_MODES = ("torch", "keras")
#: What a momentum velocity holds: gradients (PyTorch) or learning rate times gradients
#: (Keras, scikit-learn).
VELOCITY_MODES = ("torch", "keras")
