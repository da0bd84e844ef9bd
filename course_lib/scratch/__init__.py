"""From-scratch implementations in pure NumPy.

Every module in this package imports only NumPy and the Python standard library
(a test enforces it), so a learner can read each idea top to bottom without a
framework in the way. Each module is taught in one chapter (later chapters reuse it):

==================  ====  ==================================================================
module              ch.   what it holds
==================  ====  ==================================================================
validate            --    the input checks every public function uses (clear error messages)
parallel            12    split_batch: a batch split over the CPU cores on threads (attention)
functional          03    sigmoid, log_sigmoid, softmax, log_softmax, logsumexp, one_hot
linalg              01    projections, eigendecomposition, SVD, low-rank approximation
sparse_coding       01    ISTA sparse coding and dictionary learning
descent             02    gradient descent, Newton's method, test functions
information         03    entropy, cross-entropy, KL divergence, likelihoods
batching            04    mini-batch index iterators
linear_regression   04    least squares, gradient descent, ridge and lasso
logistic            05    logistic and softmax regression
gradcheck           06    numeric gradients and vector-Jacobian products, relative error
autograd            06    a scalar reverse-mode autograd engine (Value, ValueMLP)
layers              06    layers as forward/backward pairs: affine, activations, losses
mlp                 06    the MLP built from ``layers``, and Rosenblatt's perceptron
losses              06    margin losses for binary classification
elm                 06    the extreme learning machine
augment             07    data augmentation: shifts, rotations, noise
init                07    weight initialisation (Xavier, He, orthogonal) and its probes
optim               07    SGD, momentum, AdaGrad, RMSprop, Adam, AdamW; learning-rate schedules
norm                07    BatchNorm, LayerNorm, GroupNorm, InstanceNorm
regularization      07    L1/L2 penalties, dropout, early stopping
hpsearch            07    grid and random hyperparameter search
conv                08    convolution by loops and by im2col, output sizes, receptive fields
pool                08    max and average pooling
rnn                 10    the vanilla RNN with backpropagation through time, gradient clipping
text                10    character vocabularies, n-gram baselines, perplexity
lstm                11    the LSTM cell and layer, forward and backward
gru                 11    the GRU cell and layer, forward and backward
word2vec            11    skip-gram with negative sampling
attention           12    attention (masks, backward), multi-head, positions, a Transformer block
bpe                 12    byte-pair encoding: pre-tokenisation, learned merges, encode/decode
cluster             13    k-means(++) and agglomerative clustering
pca                 13    PCA and the linear autoencoder
metrics             13    ROC curves and AUC, principal angles
upsample            13    unpooling and transposed convolution
vae                 14    the VAE's Gaussian KL, reparameterisation and ELBO
gan                 14    the GAN value function, losses and optimal discriminator
hopfield            15    Hopfield networks (Hebb, energy, recall, capacity), the modern update
rbm                 15    restricted Boltzmann machines: CD-k, PCD, pseudo-likelihood, exact
                          enumeration of tiny models, deep belief networks
boxes               16    boxes: IoU, GIoU, NMS (greedy, batched, soft), anchors, AP and mAP
bandits             17    multi-armed bandits: ε-greedy, UCB1, Thompson sampling, regret
mdp                 17    MDPs from Gymnasium tables: Bellman backups, value and policy
                          iteration, tabular Q-learning and SARSA
games               17    tic-tac-toe and small Connect Four as immutable bitboard states
mcts                17    negamax and alpha-beta, UCT Monte Carlo tree search, PUCT search
quantize            18    int8 quantization: symmetric/affine scales, per channel, int8 matmul
==================  ====  ==================================================================
"""
