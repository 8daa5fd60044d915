"""The MAF-based SAEF (TS-0003 8.2.2.3 as refined by seed 003): Entity A gets Kc from the
MAF over a (D)TLS-PSK handshake with Km; Entity B retrieves Kc from the MAF named in the
KcID; A and B then run a (D)TLS-PSK handshake with Kc. docs/saef-maf.md."""

from harness.frameworks.saef_maf import ixit
from harness.frameworks.spec import FrameworkSpec
from harness.sut.contract import Framework, Role

SPEC = FrameworkSpec(
    framework=Framework.SAEF_MAF,
    title="MAF-based SAEF (TS-0003 8.2.2.3, seed 003)",
    sut_roles=(Role.ENTITY_A, Role.ENTITY_B, Role.MAF),
    steps="harness.frameworks.saef_maf.steps",
    ixit={Role.ENTITY_A: ixit.entity_a, Role.ENTITY_B: ixit.entity_b, Role.MAF: ixit.maf},
    reference="harness.frameworks.saef_maf.reference",
)
