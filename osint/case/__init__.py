"""The case file: what the victim and the public record say, typed and normalized."""

from osint.case.loader import load_case
from osint.case.model import (
    Account, BrokerStatus, Brand, Case, CaseError, Claim, Company, Incident, Indicator, Loss,
    Platform, Problem, Reference, Relation, Standing, summary,
)
from osint.case.uscc import USCCError, USCCInfo, decode_uscc

__all__ = [
    "Account", "BrokerStatus", "Brand", "Case", "CaseError", "Claim", "Company", "Incident",
    "Indicator", "Loss", "Platform", "Problem", "Reference", "Relation", "Standing",
    "USCCError", "USCCInfo", "decode_uscc", "load_case", "summary",
]
