"""Loaders of the built-in datasets: read the shipped file, apply the documented recodes, attach the spec."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from faircausesyn.io import read_table
from faircausesyn.spec import CausalSpec


def _path(name: str):
    return resources.files(__package__).joinpath("data", name)


def heart_failure() -> tuple[pd.DataFrame, CausalSpec]:
    """Heart failure clinical records (Chicco & Jurman 2020; Ahmad et al. 2017). ``time`` is carried, not analysed:
    it is the follow-up length, cut short by death, so it leaks the outcome."""
    with resources.as_file(_path("heart_failure_clinical_records_dataset.csv")) as p:
        df = read_table(p, delimiter=",", header=True)
    spec = CausalSpec(
        name="heart_failure",
        sensitive="sex",
        x0=0,
        x1=1,
        outcome="DEATH_EVENT",
        confounders=["age"],
        mediators=[
            "smoking",
            "anaemia",
            "diabetes",
            "high_blood_pressure",
            "ejection_fraction",
            "serum_creatinine",
            "serum_sodium",
            "creatinine_phosphokinase",
            "platelets",
        ],
        other=["time"],
        descriptions={
            "sex": "0 = woman, 1 = man",
            "age": "age in years",
            "anaemia": "decrease of red blood cells or haemoglobin (0/1)",
            "creatinine_phosphokinase": "CPK enzyme level in the blood, mcg/L",
            "diabetes": "diabetes (0/1)",
            "ejection_fraction": "percentage of blood leaving the heart at each contraction",
            "high_blood_pressure": "hypertension (0/1)",
            "platelets": "platelets per mL of blood",
            "serum_creatinine": "serum creatinine, mg/dL",
            "serum_sodium": "serum sodium, mEq/L",
            "smoking": "smokes (0/1)",
            "time": "follow-up period, days",
            "DEATH_EVENT": "died during follow-up (0/1)",
        },
    )
    return df, spec


CLEVELAND_COLUMNS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num"]


def cleveland() -> tuple[pd.DataFrame, CausalSpec]:
    """UCI Heart Disease, Cleveland (Janosi, Steinbrunn, Pfisterer, Detrano 1988). ``heart_disease = num > 0``;
    ``num`` itself is dropped (it is Y on a finer scale). ``?`` marks missing values (6 cells in ``ca`` and ``thal``)."""
    with resources.as_file(_path("processed.cleveland.data")) as p:
        df = read_table(p, delimiter=",", header=False, names=CLEVELAND_COLUMNS, na_values=["?"])
    df["heart_disease"] = (df.pop("num") > 0).astype(int)
    for c in ("sex", "fbs", "exang"):
        df[c] = df[c].astype(int)
    spec = CausalSpec(
        name="cleveland",
        sensitive="sex",
        x0=0,
        x1=1,
        outcome="heart_disease",
        confounders=["age"],
        mediators=["trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca", "thal", "cp"],
        column_types={"cp": "categorical", "restecg": "categorical", "slope": "categorical", "thal": "categorical", "ca": "integer"},
        descriptions={
            "age": "age in years",
            "sex": "1 = male, 0 = female",
            "cp": "chest pain type: 1 typical angina, 2 atypical angina, 3 non-anginal, 4 asymptomatic",
            "trestbps": "resting blood pressure, mm Hg",
            "chol": "serum cholesterol, mg/dl",
            "fbs": "fasting blood sugar > 120 mg/dl (1/0)",
            "restecg": "resting ECG: 0 normal, 1 ST-T abnormality, 2 left-ventricular hypertrophy",
            "thalach": "maximum heart rate achieved",
            "exang": "exercise-induced angina (1/0)",
            "oldpeak": "ST depression induced by exercise relative to rest",
            "slope": "slope of the peak exercise ST segment: 1 up, 2 flat, 3 down",
            "ca": "number of major vessels (0-3) coloured by fluoroscopy",
            "thal": "3 normal, 6 fixed defect, 7 reversible defect",
            "heart_disease": "angiographic heart disease (num > 0)",
        },
    )
    return df, spec


ILPD_COLUMNS = ["Age", "Gender", "TB", "DB", "Alkphos", "Sgpt", "Sgot", "TP", "ALB", "A/G Ratio", "Selector"]


def ilpd() -> tuple[pd.DataFrame, CausalSpec]:
    """Indian Liver Patient Dataset (Ramana, Venkateswarlu 2012). ``liver_patient = (Selector == 1)``;
    ``Selector`` is dropped. ``A/G Ratio`` is missing in 4 rows."""
    with resources.as_file(_path("ilpd.csv")) as p:
        df = read_table(p, delimiter=",", header=False, names=ILPD_COLUMNS)
    df["liver_patient"] = (df.pop("Selector") == 1).astype(int)
    spec = CausalSpec(
        name="ilpd",
        sensitive="Gender",
        x0="Female",
        x1="Male",
        outcome="liver_patient",
        confounders=["Age"],
        mediators=["TB", "DB", "Alkphos", "Sgpt", "Sgot", "TP", "ALB", "A/G Ratio"],
        descriptions={
            "Age": "age in years (top-coded at 90)",
            "Gender": "Male / Female",
            "TB": "total bilirubin",
            "DB": "direct bilirubin",
            "Alkphos": "alkaline phosphatase",
            "Sgpt": "alanine aminotransferase",
            "Sgot": "aspartate aminotransferase",
            "TP": "total proteins",
            "ALB": "albumin",
            "A/G Ratio": "albumin / globulin ratio",
            "liver_patient": "1 = liver patient, 0 = not",
        },
    )
    return df, spec
