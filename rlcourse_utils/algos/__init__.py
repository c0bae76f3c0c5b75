"""Algorithm loops, one module each: ``train(cfg, seed=..., <math>_fn=reference)``.

Lecture 1: ``bc`` (behaviour cloning), ``dagger`` (DAgger), ``mixture`` (single
Gaussian versus mixture-of-Gaussians policies on multimodal demonstrations).
Lecture 2: ``reinforce`` (REINFORCE, discrete and Gaussian heads).
Lecture 3: ``actor_critic`` (advantage actor-critic with GAE).
Lecture 4: ``fitted_q`` (fitted Q-iteration, a divergent fitted value iteration), ``tabular_q`` (online Q-learning / SARSA).
Lecture 5: ``dqn`` (DQN and double DQN), ``ddpg`` (DDPG / TD3).
Lecture 6: ``ppo`` (PPO), ``trpo`` (TRPO).
Lecture 7: planners live in ``rlcourse_utils.planning`` and ``control``.
Lecture 8: ``mbrl`` (model-based RL with a learned ensemble and MPC).
Lecture 9: ``dyna`` (Dyna-Q and short model rollouts), ``distill`` (DAgger from an MPC expert), ``gps`` (guided policy search).
Lecture 10: ``vae`` (a VAE on the digits), ``latent_policy`` (a conditional-VAE policy on the obstacle task).
Lecture 11: ``soft_q`` (soft Q-learning against DQN on a gridworld), ``sac`` (soft actor-critic on Pendulum).
Lecture 18: ``level_agent`` (PPO on sets of procedurally generated levels, K agents in lockstep).
Lecture 14: ``impala`` (actor–learner with V-trace, locally or on Ray actors).
Lecture 12: ``maxent_irl`` (MaxEnt IRL on a gridworld), ``gail`` (GAIL on CartPole with PPO as generator).
Lecture 17: ``diayn`` (DIAYN skills on a gridworld), ``skewfit`` (Skew-Fit's goal proposal on a gridworld).
Lecture 16: ``maml`` (MAML on sinusoids), ``rl2`` (a GRU meta-trained on bandits), ``maml_rl`` (MAML-PG on 2-D navigation).
Lecture 15: ``bandits`` (10-armed testbed, Bernoulli regret), ``chain_explore`` (count bonus / bootstrapped heads on a chain).
"""
from rlcourse_utils.algos import (actor_critic, bc, dagger, ddpg, distill, dqn, dyna, fitted_q, gps, mbrl,
                                 mixture, ppo, reinforce, tabular_q, trpo)
from rlcourse_utils.algos import latent_policy, vae
from rlcourse_utils.algos import gail, maxent_irl
from rlcourse_utils.algos import sac, soft_q
from rlcourse_utils.algos import bandits, chain_explore
from rlcourse_utils.algos import impala
from rlcourse_utils.algos import diayn, skewfit
from rlcourse_utils.algos import level_agent
from rlcourse_utils.algos import maml, maml_rl, rl2

__all__ = ["actor_critic", "bc", "dagger", "ddpg", "distill", "dqn", "dyna", "fitted_q", "gps", "mbrl",
           "mixture", "ppo", "reinforce", "tabular_q", "trpo",
           "latent_policy", "vae",
           "sac", "soft_q",
           "bandits", "chain_explore", "impala",
           "diayn", "skewfit"]
__all__ += ["level_agent"]
__all__ += ["maml", "maml_rl", "rl2"]
