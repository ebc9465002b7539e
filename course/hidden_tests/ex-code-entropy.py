from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_code_entropy as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec

_check(code_entropy, graded=True, cases=[
    _Case("hidden: codes (5, 5) and four codes on (-0.2, 0.1)",
          lambda: (_Spec(noise_dim=3, categorical=(5, 5), n_continuous=4, continuous_range=(-0.2, 0.1)),)),
    _Case("hidden: a 2-way code and one code on (1, 9)",
          lambda: (_Spec(noise_dim=3, categorical=(2,), n_continuous=1, continuous_range=(1.0, 9.0)),)),
    _Case("hidden: codes (4, 3) and no continuous code",
          lambda: (_Spec(noise_dim=3, categorical=(4, 3), n_continuous=0),)),
])
