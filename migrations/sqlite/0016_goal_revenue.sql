-- Revenue goals (src/stats/goal.rs, `Goal::with_revenue`): a custom event goal with a currency
-- sums its conversions' amounts in that currency (`events.revenue_micros`, 0014). NULL for every
-- other goal. (0015 is the engagement columns of events.)
ALTER TABLE goals ADD COLUMN currency TEXT;
