from datetime import date
from decimal import Decimal

import pytest

from broker.domain.fees import AgreementTerms, prorated_fee


def test_fee_rounds_to_the_cent():
    assert prorated_fee(1, [(Decimal("0.005"), 365)], 365) == Decimal("0.01")
    assert prorated_fee(0, [(Decimal("0.15"), 365)], 365) == Decimal("0.00")


def test_agreement_covers_each_calendar_year_it_touches():
    terms = AgreementTerms(date(2022, 1, 1), date(2025, 12, 31))
    assert [y for y in range(2020, 2028) if terms.covers_year(y)] == [2022, 2023, 2024, 2025]
    mid = AgreementTerms(date(2022, 7, 1), date(2023, 6, 30))
    assert mid.covers_year(2022) and mid.covers_year(2023) and not mid.covers_year(2024)
    assert terms.in_force(date(2025, 12, 31)) and not terms.in_force(date(2026, 1, 1))


def test_agreement_end_before_start_is_refused():
    with pytest.raises(ValueError):
        AgreementTerms(date(2025, 1, 1), date(2024, 1, 1))


def test_pro_rata_of_the_days_covered():
    from broker.domain.fees import days_covered, days_in_year

    assert days_in_year(2025) == 365 and days_in_year(2024) == 366
    assert days_covered(date(2022, 1, 1), date(2025, 12, 31), 2025) == 365
    assert days_covered(date(2025, 7, 1), date(2027, 6, 30), 2025) == 184
    assert days_covered(date(2025, 7, 1), date(2027, 6, 30), 2027) == 181
    assert days_covered(date(2025, 7, 1), date(2027, 6, 30), 2028) == 0
    assert prorated_fee(6452, [(Decimal("0.15"), 365)], 365) == Decimal("967.80")  # Condé-en-Normandie
    assert prorated_fee(6452, [(Decimal("0.15"), 184)], 365) == Decimal("487.88")  # 967.80 × 184 / 365
    # two agreements in one year, at different rates: each pays its own days
    assert prorated_fee(1000, [(Decimal("0.15"), 181), (Decimal("0.20"), 184)], 365) == Decimal("175.21")
    with pytest.raises(ValueError):
        prorated_fee(-1, [(Decimal("0.15"), 1)], 365)
