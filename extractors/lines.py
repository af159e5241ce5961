"""The form's lines of business as the coverage grid prints them: each section's limit
labels (label id -> the record's limit key) and the auto section's options."""

GL_LIMITS = {
    "L_EACH_OCCURRENCE": "each_occurrence",
    "L_DAMAGE_RENTED": "damage_to_rented_premises",
    "L_MED_EXP": "medical_expense",
    "L_PERSONAL_ADV": "personal_advertising_injury",
    "L_GENERAL_AGGREGATE": "general_aggregate",
    "L_PRODUCTS": "products_completed_operations_aggregate",
}
AUTO_LIMITS = {
    "L_CSL": "combined_single_limit",
    "L_BI_PERSON": "bodily_injury_per_person",
    "L_BI_ACCIDENT": "bodily_injury_per_accident",
    "L_PROPERTY_DAMAGE": "property_damage",
}
UMB_LIMITS = {"L_EACH_OCCURRENCE": "each_occurrence", "L_AGGREGATE": "aggregate"}
WC_LIMITS = {
    "L_EL_EACH_ACCIDENT": "el_each_accident",
    "L_EL_DISEASE_EMPLOYEE": "el_disease_each_employee",
    "L_EL_DISEASE_POLICY": "el_disease_policy_limit",
}
AUTO_OPTIONS = {
    "ANY_AUTO": "any_auto",
    "OWNED_AUTOS": "owned_autos_only",
    "SCHEDULED_AUTOS": "scheduled_autos",
    "HIRED_AUTOS": "hired_autos_only",
    "NON_OWNED_AUTOS": "non_owned_autos_only",
}
