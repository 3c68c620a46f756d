-- HIMAS cohort extraction from MIMIC-IV on BigQuery: one row per ICU stay, exactly the columns of
-- the hospital cohort table (terraform/modules/hospital/cohort-schema.json, generated from
-- src/core/data COHORT_CSV_COLUMNS; test/infra/cohort-sql.test.ts checks the column list).
--
-- Adapted from the draft query in CLINICAL_DATA.md section 2.5 (mimic-code first-day concepts,
-- MIT-LCP/mimic-code@8bcbd190: first_day_vitalsign, first_day_gcs, first_day_lab, first_day_bg,
-- first_day_urine_output). Same cohort: adults, first ICU stay per patient, stays >= 24 h, deaths
-- in the first 24 h excluded (label leakage). Care units are mapped to HIMAS short codes
-- (src/core/data/features.ts CARE_UNIT_MIMIC_NAMES); stays in other units are left out.
--
-- Parameters (dataset names are never hard-coded; table names cannot be query parameters, so the
-- statement is built with FORMAT and run with EXECUTE IMMEDIATE):
--   @hosp_dataset       e.g. physionet-data.mimiciv_3_1_hosp
--   @icu_dataset        e.g. physionet-data.mimiciv_3_1_icu
--   @derived_dataset    e.g. physionet-data.mimiciv_3_1_derived
--   @destination_table  the hospital's table, e.g. <project>.himas_h2_cardiac.cohort (terraform output cohort_tables)
--   @care_units         the HIMAS care units this "hospital" gets, e.g. ['CVICU','CCU']; [] = all
--
--   bq query --use_legacy_sql=false \
--     --parameter=hosp_dataset::physionet-data.mimiciv_3_1_hosp \
--     --parameter=icu_dataset::physionet-data.mimiciv_3_1_icu \
--     --parameter=derived_dataset::physionet-data.mimiciv_3_1_derived \
--     --parameter=destination_table::<project>.himas_h2_cardiac.cohort \
--     --parameter='care_units:ARRAY<STRING>:["CVICU","CCU"]' \
--     < schemas/cohort-mimic-iv.sql
--
-- Caveats (CLINICAL_DATA.md 2.5): first_day_lab and first_day_bg join on subject_id, so samples
-- drawn up to 6 h before ICU admission count; urineoutput is NULL (missing), not 0, when nothing
-- was charted; gcs_min is 15 for intubated patients, flagged by gcs_unable.

DECLARE min_icu_hours INT64 DEFAULT 24;

EXECUTE IMMEDIATE FORMAT("TRUNCATE TABLE `%s`", @destination_table);

EXECUTE IMMEDIATE FORMAT("""
INSERT INTO `%s` (
  stay_id, age, is_male, heart_rate_mean, sbp_mean, dbp_mean, mbp_mean, resp_rate_mean,
  temperature_mean, spo2_mean, gcs_min, gcs_unable, creatinine_max, bun_max, sodium_max,
  potassium_max, bicarbonate_min, glucose_max, hemoglobin_min, wbc_max, platelets_min, lactate_max,
  bilirubin_total_max, urineoutput, first_careunit, label_inhospital_mortality
)
WITH base AS (
  SELECT
      ie.subject_id, ie.stay_id, ie.intime, ie.outtime
    , CASE ie.first_careunit
        WHEN 'Medical Intensive Care Unit (MICU)' THEN 'MICU'
        WHEN 'Medical/Surgical Intensive Care Unit (MICU/SICU)' THEN 'MICU/SICU'
        WHEN 'Cardiac Vascular Intensive Care Unit (CVICU)' THEN 'CVICU'
        WHEN 'Surgical Intensive Care Unit (SICU)' THEN 'SICU'
        WHEN 'Trauma SICU (TSICU)' THEN 'TSICU'
        WHEN 'Coronary Care Unit (CCU)' THEN 'CCU'
        WHEN 'Neuro Intermediate' THEN 'Neuro'
        WHEN 'Neuro Surgical Intensive Care Unit (Neuro SICU)' THEN 'Neuro'
        WHEN 'Neuro Stepdown' THEN 'Neuro'
      END AS care_unit
    , adm.deathtime, adm.hospital_expire_flag
    , pat.gender
    , pat.anchor_age + DATETIME_DIFF(adm.admittime, DATETIME(pat.anchor_year, 1, 1, 0, 0, 0), YEAR) AS age
    , ROW_NUMBER() OVER (PARTITION BY ie.subject_id ORDER BY ie.intime) AS icu_seq_patient
  FROM `%s.icustays` ie
  INNER JOIN `%s.admissions` adm ON ie.hadm_id = adm.hadm_id
  INNER JOIN `%s.patients` pat ON ie.subject_id = pat.subject_id
)
SELECT
  -- himas:columns begin (one output column per line, in COHORT_CSV_COLUMNS order)
    CAST(b.stay_id AS STRING) AS stay_id
  , CAST(b.age AS FLOAT64) AS age
  , CAST(IF(b.gender = 'M', 1, 0) AS FLOAT64) AS is_male
  , CAST(v.heart_rate_mean AS FLOAT64) AS heart_rate_mean
  , CAST(v.sbp_mean AS FLOAT64) AS sbp_mean
  , CAST(v.dbp_mean AS FLOAT64) AS dbp_mean
  , CAST(v.mbp_mean AS FLOAT64) AS mbp_mean
  , CAST(v.resp_rate_mean AS FLOAT64) AS resp_rate_mean
  , CAST(v.temperature_mean AS FLOAT64) AS temperature_mean
  , CAST(v.spo2_mean AS FLOAT64) AS spo2_mean
  , CAST(g.gcs_min AS FLOAT64) AS gcs_min
  , CAST(g.gcs_unable AS FLOAT64) AS gcs_unable
  , CAST(l.creatinine_max AS FLOAT64) AS creatinine_max
  , CAST(l.bun_max AS FLOAT64) AS bun_max
  , CAST(l.sodium_max AS FLOAT64) AS sodium_max
  , CAST(l.potassium_max AS FLOAT64) AS potassium_max
  , CAST(l.bicarbonate_min AS FLOAT64) AS bicarbonate_min
  , CAST(l.glucose_max AS FLOAT64) AS glucose_max
  , CAST(l.hemoglobin_min AS FLOAT64) AS hemoglobin_min
  , CAST(l.wbc_max AS FLOAT64) AS wbc_max
  , CAST(l.platelets_min AS FLOAT64) AS platelets_min
  , CAST(bg.lactate_max AS FLOAT64) AS lactate_max
  , CAST(l.bilirubin_total_max AS FLOAT64) AS bilirubin_total_max
  , CAST(uo.urineoutput AS FLOAT64) AS urineoutput
  , b.care_unit AS first_careunit
  , CAST(b.hospital_expire_flag AS INT64) AS label_inhospital_mortality
  -- himas:columns end
FROM base b
LEFT JOIN `%s.first_day_vitalsign`    v  ON b.stay_id = v.stay_id
LEFT JOIN `%s.first_day_gcs`          g  ON b.stay_id = g.stay_id
LEFT JOIN `%s.first_day_lab`          l  ON b.stay_id = l.stay_id
LEFT JOIN `%s.first_day_bg`           bg ON b.stay_id = bg.stay_id
LEFT JOIN `%s.first_day_urine_output` uo ON b.stay_id = uo.stay_id
WHERE b.icu_seq_patient = 1
  AND b.age >= 18
  AND b.care_unit IS NOT NULL
  AND (ARRAY_LENGTH(@care_units) = 0 OR b.care_unit IN UNNEST(@care_units))
  AND DATETIME_DIFF(b.outtime, b.intime, HOUR) >= @min_icu_hours
  AND (b.deathtime IS NULL OR b.deathtime > DATETIME_ADD(b.intime, INTERVAL @min_icu_hours HOUR))
""",
  @destination_table,
  @icu_dataset, @hosp_dataset, @hosp_dataset,
  @derived_dataset, @derived_dataset, @derived_dataset, @derived_dataset, @derived_dataset)
USING @care_units AS care_units, min_icu_hours AS min_icu_hours;
