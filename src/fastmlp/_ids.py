"""Every number the Python layer and the compiled kernels must agree on, defined once.

The activation, loss and optimizer-rule ids, the layout of ``Optimizer.hyper()``, the
schedule kinds and the sizes of the optimizer state. Python reads this module; the build
(``setup.py``, ``_write_ids``) writes each module-level integer below as a member of a
``cpdef enum`` in ``_ids.pxi``, which ``backend/_kernels.pxd`` includes, so the compiled
code uses the same names with the same values (``_kernels.ACT_RELU`` from Python).
Each module-level float below becomes a C macro ``FASTMLP_<NAME>`` in the generated header
``_ids.h``, which ``backend/_math.h`` includes (macros, not module variables: a loop's
stores could alias a global double, whose load would then keep the loop from
vectorizing). ``tests/test_ids.py`` checks that the compiled module was built from this
file.

A leaf module (it imports nothing), so that setup.py can run it without importing the
package and the NumPy engine can read it without importing the public API.
"""

# -- activation ids (Dense(activation=...); fastmlp.activations.ACTIVATIONS) -------------
ACT_LINEAR = 0
ACT_SIGMOID = 1
ACT_TANH = 2
ACT_RELU = 3
ACT_LEAKY_RELU = 4
ACT_PRELU = 5
ACT_ELU = 6
ACT_SOFTPLUS = 7
ACT_SOFTMAX = 8
ACT_GELU = 9
ACT_SILU = 10
ACT_SELU = 11
ACT_MISH = 12
ACT_HARD_SIGMOID = 13
ACT_RELU6 = 14
ACT_EXPONENTIAL = 15
ACT_SOFTSIGN = 16

# -- loss ids (fastmlp.losses.LOSSES) ------------------------------------------------------
LOSS_MSE = 0
LOSS_BCE = 1
LOSS_CCE = 2            # also sparse categorical cross-entropy (labels one-hot encoded)
LOSS_MAE = 3
LOSS_HUBER = 4
LOSS_HINGE = 5
LOSS_POISSON = 6

# -- optimizer rule ids (Optimizer.kind) --------------------------------------------------
OPT_SGD = 0
OPT_MOMENTUM = 1        # also Nesterov
OPT_ADAGRAD = 2
OPT_ADADELTA = 3
OPT_RMSPROP = 4
OPT_ADAM = 5            # also AMSGrad
OPT_ADAMAX = 6
OPT_NADAM = 7

# -- layout of Optimizer.hyper(), a float64 vector of N_HYPER values ----------------------
HYPER_LR = 0            # base (initial) learning rate
HYPER_WEIGHT_DECAY = 1
HYPER_RULE = 2          # six rule-specific values at HYPER_RULE .. HYPER_RULE + 5
HYPER_SCHEDULE = 8      # schedule kind (SCHEDULE_*)
HYPER_DECAY_STEPS = 9
HYPER_DECAY_RATE = 10
HYPER_POWER = 11
HYPER_STAIRCASE = 12
HYPER_CLIPNORM = 13     # 0 when off
HYPER_CLIPVALUE = 14    # 0 when off
HYPER_WARMUP = 15       # linear warm-up length in updates (0: none)
N_HYPER = 16

# -- learning-rate schedule kinds (hyper[HYPER_SCHEDULE]) ----------------------------------
SCHEDULE_CONSTANT = 0
SCHEDULE_EXPONENTIAL = 1
SCHEDULE_INVERSE = 2

# -- optimizer state ----------------------------------------------------------------------
N_SCALARS = 4           # the scalar state: step count, then up to three rule values
MAX_SLOTS = 3           # state arrays per parameter at most (RMSprop centered, momentum)

# -- fixed constants of the activations and losses (as in Keras / PyTorch) ----------------
LEAKY_RELU_SLOPE = 0.01  # leaky_relu's slope for negative inputs (fixed, as in Keras)
ELU_ALPHA = 1.0          # elu's scale for negative inputs
SELU_ALPHA = 1.6732632423543772848170429916717  # selu (Klambauer et al. 2017, PyTorch)
SELU_SCALE = 1.0507009873554804934193349852946
HUBER_DELTA = 1.0        # the Huber loss's delta (Keras' default)
