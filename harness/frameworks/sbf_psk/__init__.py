"""The pre-provisioned symmetric enrolee key SBF (seed 001 8.3.1, 8.3.2.1): the Enrolee and
the MEF run a (D)TLS-PSK bootstrap with Kpm and export Ke and KeID; the Enrolee derives Km
for its MAF and presents KeID there; the MAF fetches Km from the MEF. docs/sbf-psk.md."""

from harness.frameworks.sbf_psk import ixit
from harness.frameworks.spec import FrameworkSpec
from harness.sut.contract import Framework, Role

SPEC = FrameworkSpec(
    framework=Framework.SBF_PSK,
    title="Pre-provisioned symmetric enrolee key SBF (TS-0003 8.3.2.1)",
    sut_roles=(Role.ENROLEE, Role.MEF, Role.MAF),
    steps="harness.frameworks.sbf_psk.steps",
    ixit={Role.ENROLEE: ixit.enrolee, Role.MEF: ixit.mef, Role.MAF: ixit.maf},
    reference="harness.frameworks.sbf_psk.reference",
)
